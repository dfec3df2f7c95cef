/** TensorFlow.js's WebAssembly backend (SIMD): always installed, single-threaded in Node. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { tf } from '../tf';
import type { AttemptResult } from './attempt';
import { firstLine } from './loader';
import { registerWasmKernels } from './wasmKernels';

let wasmConfigured = false;

export async function tryWasm(): Promise<AttemptResult> {
  const restore = withoutNewFailureHandlers();
  try {
    // A plain require (not the optional-package loader): a self-contained bundle can then include it.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    if (!wasmConfigured) {
      // In the bundles the .wasm files are copied beside the bundle; unbundled, the package finds its own.
      const beside = join(__dirname, 'tfjs-backend-wasm-simd.wasm');
      if (existsSync(beside)) wasm.setWasmPaths(__dirname + '/');
      wasmConfigured = true;
      registerWasmKernels();
    }
    return (await tf.setBackend('wasm')) ? {} : { failure: 'the wasm backend failed to initialise' };
  } catch (e) {
    return { failure: `wasm failed: ${firstLine(e)}` };
  } finally {
    restore();
  }
}

/**
 * The wasm backend's Emscripten glue adds process-wide uncaughtException/unhandledRejection handlers that
 * rethrow, which turns any stray rejection anywhere in the host (a language server!) into exit code 7.
 * Returns a function that removes whatever handlers for those events were added since the call.
 */
function withoutNewFailureHandlers(): () => void {
  const events = ['uncaughtException', 'unhandledRejection'];
  const emitter = process as NodeJS.EventEmitter;
  const before = events.map((e) => new Set(emitter.listeners(e)));
  return () =>
    events.forEach((e, i) => {
      for (const l of emitter.listeners(e)) if (!before[i].has(l)) emitter.removeListener(e, l as (...a: unknown[]) => void);
    });
}

/** The wasm backend's heap now, in bytes (it only grows). */
export function wasmHeapBytes(): number {
  return (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
}
