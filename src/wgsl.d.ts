/** WGSL sources import as strings (rollup: the `wgsl` plugin in rollup.config.mjs; vitest: vitest.config.ts; esbuild: loader text). */
declare module '*.wgsl' {
  const source: string;
  export default source;
}
