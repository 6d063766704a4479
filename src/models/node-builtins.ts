/**
 * Node built-ins, imported at run time only and out of sight of browser bundlers.
 *
 * The model code is shared by Node and browser builds. A literal `import('node:fs/promises')`, even inside a
 * function that never runs in a browser, makes esbuild (platform browser) fail with "Could not resolve",
 * and webpack/Vite polyfill or warn. A specifier held in a variable is left alone by all three, so a page that
 * bundles `diorama/three` or `diorama/babylon` builds, and Node still gets the real modules.
 */
type Builtins = {
  'node:fs/promises': typeof import('node:fs/promises');
  'node:os': typeof import('node:os');
  'node:path': typeof import('node:path');
};

export function importNodeBuiltin<K extends keyof Builtins>(specifier: K): Promise<Builtins[K]> {
  const name: string = specifier;
  return import(/* @vite-ignore */ /* webpackIgnore: true */ name) as Promise<Builtins[K]>;
}
