// Bundles the extension client, the language server, the CLI, the compute worker and the benchmarks
// (node, CommonJS) and the webview (browser), and copies tfjs's wasm binaries beside the node bundles.
// @tensorflow/* stays external: an optional tfjs-node or the WebGPU backend must register on the same tfjs
// instance; webgpu (Dawn, a native module) is loaded at run time too, and only where it is installed.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const watch = process.argv.includes('--watch');
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  // tfjs ships ES modules whose side effects (kernel registration) must survive bundling.
  mainFields: ['module', 'main'],
  external: ['vscode', '@tensorflow/*', 'webgpu'],
  logLevel: 'warning',
};

const builds = [
  { ...node, entryPoints: { client: 'client/src/extension.ts' }, outdir: 'dist' },
  {
    ...node,
    entryPoints: {
      server: 'server/src/server.ts',
      cli: 'server/src/cli.ts',
      worker: 'server/src/engine/compute/computeThread.ts',
      // Open Demo's corpus generator, run as a program by the server (never bundled into it).
      demoCorpus: 'demo/src/corpus/editorCorpus.ts',
    },
    outdir: 'dist',
  },
  // The benchmark drives chromium for the panel's figures when it is installed: playwright stays a dev dependency.
  { ...node, entryPoints: { bench: 'bench/bench.ts', benchGpu: 'bench/gpu.ts' }, outdir: 'dist', external: [...node.external, 'playwright-core'] },
  {
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    entryPoints: { main: 'webview/src/main.ts' },
    outdir: 'dist/webview',
    logLevel: 'warning',
  },
];

function copyAssets() {
  mkdirSync('dist/webview', { recursive: true });
  const wasmDir = 'node_modules/@tensorflow/tfjs-backend-wasm/dist';
  for (const f of readdirSync(wasmDir).filter((f) => f.endsWith('.wasm'))) copyFileSync(join(wasmDir, f), join('dist', f));
  copyFileSync('webview/src/styles.css', 'dist/webview/styles.css');
  // The theme variables for the HTML report (VS Code provides them in the panel).
  copyFileSync('webview/src/themes.css', 'dist/webview/themes.css');
}

if (watch) {
  const contexts = await Promise.all(builds.map((b) => esbuild.context(b)));
  copyAssets();
  await Promise.all(contexts.map((c) => c.watch()));
  console.log('esbuild: watching');
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
  copyAssets();
}
