import { defineConfig } from 'vitest/config';

/** `.wgsl` files import as their source text, as in the rollup build. */
const wgsl = {
  name: 'wgsl-text',
  transform(code: string, id: string) {
    return id.endsWith('.wgsl') ? { code: `export default ${JSON.stringify(code)};`, map: null } : null;
  },
};

export default defineConfig({
  plugins: [wgsl],
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup-fast-check.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // The JSON report lets .ci/run print a one-line summary ("N passed, N failed").
    reporters: ['default', ['json', { outputFile: 'out/test-results.json' }]],
  },
});
