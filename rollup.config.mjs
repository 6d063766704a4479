// Builds the ESM library (core, Node helpers) and the CLI. Declarations come from `tsc -p tsconfig.build.json`.
import esbuild from 'rollup-plugin-esbuild';
import { nodeResolve } from '@rollup/plugin-node-resolve';

/** `.wgsl` files import as their source text. */
const wgsl = () => ({ name: 'wgsl-text', transform: (code, id) => (id.endsWith('.wgsl') ? { code: `export default ${JSON.stringify(code)};`, map: null } : null) });

const external = (id) =>
  /^(node:|sharp$|sharp\/|@babylonjs\/|three$|three\/|onnxruntime-web|exifr|@huggingface\/)/.test(id) ||
  ['fs', 'path', 'url', 'os', 'crypto', 'child_process'].includes(id);

export default [
  {
    input: {
      index: 'src/index.ts',
      node: 'src/node.ts',
      cli: 'src/cli.ts',
      'babylon/index': 'src/babylon/index.ts',
      'babylon/pure': 'src/babylon/pure.ts',
      'three/index': 'src/three/index.ts',
      'three/webgpu': 'src/three/webgpu.ts',
      'models/index': 'src/models/index.ts',
      'models/worker': 'src/models/worker.ts',
      'gpu/index': 'src/gpu/index.ts',
    },
    output: { dir: 'dist', format: 'es', sourcemap: true, chunkFileNames: 'chunks/[name]-[hash].js' },
    external,
    plugins: [wgsl(), nodeResolve({ preferBuiltins: true }), esbuild({ target: 'es2022', sourceMap: true })],
  },
];
