/**
 * The house rule of docs/style.md, checked on the sources' import statements: the core (src/core, src/math,
 * src/scene, src/io, src/gpu) imports no engine and no adapter; the three.js adapter imports the core, never
 * Babylon; the Babylon adapter never imports three.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = join(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** Module specifiers of every import / export-from / dynamic import of a file. */
function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|(?:^|\n)\s*import\s*['"]([^'"]+)['"]/g)) out.push(m[1] ?? m[2] ?? m[3]!);
  return out;
}

const violations = (dir: string, bad: RegExp) =>
  files(join(SRC, dir)).flatMap((f) => imports(f).filter((s) => bad.test(s)).map((s) => `${relative(SRC, f)} imports '${s}'`));

describe('house rule: adapters import the core, never the reverse', () => {
  it('the import scanner sees the adapters’ engine imports (guards the regex)', () => {
    expect(imports(join(SRC, 'three', 'diorama.ts'))).toContain('three');
    expect(imports(join(SRC, 'babylon', 'nodes.ts')).some((s) => s.startsWith('@babylonjs/'))).toBe(true);
  });
  for (const dir of ['core', 'math', 'scene', 'io', 'gpu']) {
    it(`src/${dir} imports no engine and no adapter`, () => {
      expect(violations(dir, /^(three($|\/)|@babylonjs\/)|\/(babylon|three)(\/|$)/)).toEqual([]);
    });
  }
  it('src/three imports no Babylon code', () => {
    expect(violations('three', /^@babylonjs\/|\/babylon(\/|$)/)).toEqual([]);
  });
  it('src/babylon imports no three.js code', () => {
    expect(violations('babylon', /^three($|\/)|\/three(\/|$)/)).toEqual([]);
  });
});
