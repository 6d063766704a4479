// Builds the ESM library (core, Node helpers) and the CLI. Declarations come from `tsc -p tsconfig.build.json`.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';

const external = (id) => /^(node:|sharp$|sharp\/)/.test(id) || ['fs', 'path', 'url', 'os', 'crypto', 'child_process'].includes(id);

export default [
  {
    input: { index: 'src/index.ts', node: 'src/node.ts', cli: 'src/cli.ts' },
    output: { dir: 'dist', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external,
    plugins: [nodeResolve({ preferBuiltins: true }), esbuild({ target: 'es2022', sourceMap: true })],
  },
];
