/**
 * Chooses and initialises the tfjs backend: tfjs-node-gpu, then tfjs-node (both optional, detected at
 * run time), then wasm (SIMD), then cpu. The choice and the reason are always reported.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { tf } from '../tf';
import { InfluenceLensError } from '../errors';

export const BACKEND_NAMES = ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type BackendRequest = BackendName | 'auto';

export interface BackendInfo {
  name: BackendName;
  /** Why this one: forced, or which better ones were unavailable and why. */
  reason: string;
  /** Whether compute should be spread over worker threads (wasm/cpu are single-threaded in Node). */
  wantsWorkers: boolean;
}

const nodeRequire = createRequire(__filename);

/** Attempts, in preference order; each returns null on success or the reason it failed. */
const attempts: Record<BackendName, () => Promise<string | null>> = {
  'tensorflow-gpu': () => tryNative('@tensorflow/tfjs-node-gpu'),
  tensorflow: () => tryNative('@tensorflow/tfjs-node'),
  wasm: tryWasm,
  cpu: async () => ((await tf.setBackend('cpu')) ? null : 'the cpu backend failed to initialise'),
};

async function tryNative(pkg: string): Promise<string | null> {
  try {
    nodeRequire(pkg); // registers the 'tensorflow' backend on the shared @tensorflow/tfjs instance
  } catch (e) {
    return `${pkg} is not installed (${firstLine(e)})`;
  }
  try {
    if (!(await tf.setBackend('tensorflow'))) return `${pkg} loaded but its backend failed to initialise`;
    if (pkg.endsWith('-gpu') && !gpuVisible()) return `${pkg} loaded but sees no GPU`;
    return null;
  } catch (e) {
    return `${pkg} failed: ${firstLine(e)}`;
  }
}

function gpuVisible(): boolean {
  // tfjs-node-gpu silently falls back to CPU kernels when CUDA is missing; CUDA_VISIBLE_DEVICES=-1 hides GPUs.
  return process.env.CUDA_VISIBLE_DEVICES !== '-1' && process.env.CUDA_VISIBLE_DEVICES !== '';
}

let wasmConfigured = false;
async function tryWasm(): Promise<string | null> {
  const restore = withoutNewFailureHandlers();
  try {
    // A plain require (not nodeRequire): a self-contained bundle can then include the wasm backend.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    if (!wasmConfigured) {
      // In the bundles the .wasm files are copied beside the bundle; unbundled, the package finds its own.
      const beside = join(__dirname, 'tfjs-backend-wasm-simd.wasm');
      if (existsSync(beside)) wasm.setWasmPaths(__dirname + '/');
      wasmConfigured = true;
    }
    return (await tf.setBackend('wasm')) ? null : 'the wasm backend failed to initialise';
  } catch (e) {
    return `wasm failed: ${firstLine(e)}`;
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

function firstLine(e: unknown): string {
  return String(e instanceof Error ? e.message : e).split('\n')[0];
}

let current: { request: BackendRequest; info: BackendInfo } | undefined;

/** Initialise once per thread; later calls with the same request return the same answer. */
export async function initBackend(request: BackendRequest = 'auto'): Promise<BackendInfo> {
  if (current && current.request === request) return current.info;
  // Production mode: skips debug checks and the cpu backend's console banner (the choice is reported here).
  tf.enableProdMode();
  const order: readonly BackendName[] = request === 'auto' ? BACKEND_NAMES : [request];
  const failures: string[] = [];
  for (const name of order) {
    const failure = await attempts[name]();
    if (failure === null) {
      await tf.ready();
      const reason =
        request !== 'auto'
          ? `forced by setting (${name})`
          : failures.length === 0
            ? 'first choice'
            : `fallback: ${failures.join('; ')}`;
      current = { request, info: { name, reason, wantsWorkers: name === 'wasm' || name === 'cpu' } };
      return current.info;
    }
    failures.push(failure);
  }
  throw new Error(`no usable tfjs backend: ${failures.join('; ')}`);
}

export function parseBackendRequest(s: string | undefined): BackendRequest {
  if (s === undefined || s === '' || s === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(s)) return s as BackendName;
  throw new InfluenceLensError('USAGE', `unknown backend "${s}": expected auto, ${BACKEND_NAMES.join(', ')}`);
}
