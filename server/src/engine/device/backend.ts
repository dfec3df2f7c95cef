/**
 * Chooses and initialises the tfjs backend. auto tries, in order: tfjs-node-gpu (CUDA), WebGPU on a
 * hardware adapter, tfjs-node, wasm (SIMD), then cpu; naming one forces it (a software WebGPU adapter
 * included). The optional packages are detected at run time. The choice, the adapter and the reason
 * are always reported.
 */
import { tf } from '../tf';
import { InfluenceLensError } from '../errors';
import type { AdapterInfo } from '../../common/backends';
import type { AttemptContext, AttemptResult } from './attempt';
import { requireModule, type ModuleLoader } from './loader';
import { tryNative, TFJS_NODE, TFJS_NODE_GPU } from './native';
import { tryWasm } from './wasm';
import { tryWebGpu } from './webgpu';
import { BACKEND_NAMES, type BackendName, type BackendRequest } from '../../common/backends';

/** The list and its types live in server/src/common/backends.ts (one list for the engine, the server, the CLI and the client). */
export { BACKEND_NAMES, type BackendName, type BackendRequest } from '../../common/backends';
export type { AdapterInfo } from '../../common/backends';

export interface BackendInfo {
  name: BackendName;
  /** Why this one: forced, or which better ones were unavailable and why. */
  reason: string;
  /** Whether compute should be spread over worker threads (wasm/cpu are single-threaded in Node). */
  wantsWorkers: boolean;
  /** Whether it computes on a GPU (one process, large batches). */
  gpu: boolean;
  /** The WebGPU adapter it runs on. */
  adapter?: AdapterInfo;
}

const attempts: Record<BackendName, (ctx: AttemptContext) => Promise<AttemptResult>> = {
  'tensorflow-gpu': (ctx) => tryNative(TFJS_NODE_GPU, ctx.load),
  webgpu: tryWebGpu,
  tensorflow: (ctx) => tryNative(TFJS_NODE, ctx.load),
  wasm: tryWasm,
  cpu: async () => ((await tf.setBackend('cpu')) ? {} : { failure: 'the cpu backend failed to initialise' }),
};

export interface ChooseOptions {
  /** How optional packages are loaded (tests stand in for absent, present or broken ones). */
  load?: ModuleLoader;
}

/** Tries the request's backends in order and initialises the first that works. */
export async function chooseBackend(request: BackendRequest, options: ChooseOptions = {}): Promise<BackendInfo> {
  // Production mode: skips debug checks and the cpu backend's console banner (the choice is reported here).
  tf.enableProdMode();
  const forced = request !== 'auto';
  const order: readonly BackendName[] = forced ? [request] : BACKEND_NAMES;
  const failures: string[] = [];
  for (const name of order) {
    const result = await attempts[name]({ load: options.load ?? requireModule, forced });
    if (result.failure !== undefined) {
      failures.push(result.failure);
      continue;
    }
    await tf.ready();
    const reason = forced ? `forced by setting (${name})` : failures.length === 0 ? 'first choice' : `fallback: ${failures.join('; ')}`;
    const gpu = name === 'tensorflow-gpu' || name === 'webgpu';
    return { name, reason, wantsWorkers: name === 'wasm' || name === 'cpu', gpu, ...(result.adapter ? { adapter: result.adapter } : {}) };
  }
  throw new Error(`no usable tfjs backend: ${failures.join('; ')}`);
}

/** The name each backend registers under in tfjs (both TensorFlow packages register 'tensorflow'). */
const TFJS_NAMES: Record<BackendName, string> = { 'tensorflow-gpu': 'tensorflow', webgpu: 'webgpu', tensorflow: 'tensorflow', wasm: 'wasm', cpu: 'cpu' };

let current: { request: BackendRequest; info: BackendInfo } | undefined;

/** Initialise once per thread; later calls with the same request return the same answer. */
export async function initBackend(request: BackendRequest = 'auto'): Promise<BackendInfo> {
  if (current && current.request === request && tf.getBackend() === TFJS_NAMES[current.info.name]) return current.info;
  const info = await chooseBackend(request);
  current = { request, info };
  return info;
}

export function parseBackendRequest(s: string | undefined): BackendRequest {
  if (s === undefined || s === '' || s === 'auto') return 'auto';
  if ((BACKEND_NAMES as readonly string[]).includes(s)) return s as BackendName;
  throw new InfluenceLensError('USAGE', `unknown backend "${s}": expected auto, ${BACKEND_NAMES.join(', ')}`);
}

/** The backend, the adapter it runs on, and why it was chosen, in one line (CLI, logs). */
export function describeBackend(info: BackendInfo): string {
  const adapter = info.adapter ? ` on ${info.adapter.description}${info.adapter.software ? ', a software adapter' : ''}` : '';
  return `${info.name}${adapter} (${info.reason})`;
}

/** The adapter in full (CLI --verbose). */
export function describeAdapter(a: AdapterInfo | undefined): string {
  if (!a) return 'adapter: none (not a WebGPU backend)';
  return `adapter: ${a.description} (vendor ${a.vendor || '?'}, architecture ${a.architecture || '?'}, device ${a.device || '?'}, ${a.software ? 'software' : 'hardware'})`;
}
