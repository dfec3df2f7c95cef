/**
 * WebGPU in Node: Google's Dawn from the `webgpu` package (it loads the system's Vulkan, Metal or D3D12
 * driver at run time) under @tensorflow/tfjs-backend-webgpu. Both are optional. navigator.gpu must exist
 * before the tfjs backend loads: it registers itself only where WebGPU is there. Software adapters
 * (lavapipe, llvmpipe, SwiftShader) are correct but slow: auto never chooses them, naming them forces them.
 */
import { existsSync, readdirSync } from 'node:fs';
import { tf } from '../tf';
import type { AdapterInfo } from '../../common/backends';
import type { AttemptContext, AttemptResult } from './attempt';
import { firstLine, type ModuleLoader } from './loader';

export const WEBGPU_PACKAGE = 'webgpu';
export const TFJS_WEBGPU = '@tensorflow/tfjs-backend-webgpu';

interface GpuAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
}
interface Gpu {
  requestAdapter(options?: { powerPreference?: string }): Promise<GpuAdapter | null>;
}
interface Dawn {
  create(flags: string[]): Gpu;
  globals: Record<string, unknown>;
}

/** The GPU entry point, made once per process. */
let gpu: Gpu | undefined;

export async function tryWebGpu({ load, forced }: AttemptContext): Promise<AttemptResult> {
  if (!forced) {
    const none = noGpuDevice();
    if (none) return { failure: none };
  }
  try {
    gpu ??= installNavigatorGpu(loadDawn(load));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { failure: code === 'MODULE_NOT_FOUND' ? `the ${WEBGPU_PACKAGE} package is not installed` : `WebGPU (Dawn) failed to load: ${firstLine(e)}` };
  }
  // The same request tfjs's backend makes, so the adapter described here is the one it will use.
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  if (!adapter) return { failure: `WebGPU found no adapter (${driverHint()})` };
  const info = adapterInfo(adapter);
  if (info.software && !forced) {
    return { failure: `WebGPU offers only a software adapter (${info.description}), which auto never chooses (force it with the backend webgpu)` };
  }
  try {
    load(TFJS_WEBGPU);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { failure: code === 'MODULE_NOT_FOUND' ? `${TFJS_WEBGPU} is not installed` : `${TFJS_WEBGPU} failed to load: ${firstLine(e)}` };
  }
  if (!tf.findBackendFactory('webgpu')) return { failure: `${TFJS_WEBGPU} loaded but registered no backend` };
  try {
    if (!(await tf.setBackend('webgpu'))) return { failure: `the webgpu backend failed to initialise on ${info.description}` };
  } catch (e) {
    return { failure: `the webgpu backend failed on ${info.description}: ${firstLine(e)}` };
  }
  return { adapter: info };
}

/** dawn.node itself: the package's entry point is an ES module, which older Node 20 releases cannot require. */
function loadDawn(load: ModuleLoader): Dawn {
  const platform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
  return load(`${WEBGPU_PACKAGE}/dist/${platform}/dawn.node`) as Dawn;
}

function installNavigatorGpu(dawn: Dawn): Gpu {
  const instance = dawn.create([]);
  const g = globalThis as Record<string, unknown>;
  // GPUBufferUsage, GPUMapMode… as a browser has them (tfjs reads them as globals).
  for (const [k, v] of Object.entries(dawn.globals)) if (!(k in g)) g[k] = v;
  const nav = g.navigator;
  if (nav && typeof nav === 'object') Object.defineProperty(nav, 'gpu', { value: instance, configurable: true });
  else Object.defineProperty(g, 'navigator', { value: { gpu: instance }, configurable: true, writable: true });
  return instance;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software/i;

export function adapterInfo(adapter: GpuAdapter): AdapterInfo {
  const i = adapter.info ?? {};
  const vendor = i.vendor ?? '';
  const architecture = i.architecture ?? '';
  const device = i.device ?? '';
  const description = i.description || [vendor, architecture, device].filter(Boolean).join(' ') || 'unnamed adapter';
  const software = i.isFallbackAdapter === true || SOFTWARE.test([vendor, architecture, device, description].join(' '));
  return { vendor, architecture, device, description, software };
}

/**
 * On Linux a hardware GPU shows as a device node (DRM render node, NVIDIA's, or WSL's); without one only
 * a software adapter could answer, which auto would refuse anyway: skip loading Dawn at all.
 */
function noGpuDevice(): string | undefined {
  if (process.platform !== 'linux') return undefined;
  const render = existsSync('/dev/dri') ? readdirSync('/dev/dri').filter((f) => f.startsWith('renderD')) : [];
  if (render.length > 0 || existsSync('/dev/nvidia0') || existsSync('/dev/dxg')) return undefined;
  return 'no GPU device on this machine (no /dev/dri/renderD*, /dev/nvidia0 or /dev/dxg)';
}

const ICD_DIRS = ['/usr/share/vulkan/icd.d', '/etc/vulkan/icd.d', '/usr/local/share/vulkan/icd.d'];

/** What may be missing when Dawn finds no adapter. */
function driverHint(): string {
  if (process.platform !== 'linux') return 'no usable GPU driver';
  const chosen = process.env.VK_DRIVER_FILES ?? process.env.VK_ICD_FILENAMES;
  if (chosen) return `no Vulkan driver accepted a device among those VK_DRIVER_FILES / VK_ICD_FILENAMES name (${chosen})`;
  const icds = ICD_DIRS.flatMap((d) => (existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.json')) : []));
  if (icds.length === 0) return `no Vulkan driver: nothing in ${ICD_DIRS.join(', ')}`;
  if (existsSync('/dev/nvidia0') && !icds.some((f) => f.startsWith('nvidia'))) {
    return 'no NVIDIA Vulkan driver (nvidia_icd.json); in a container, NVIDIA_DRIVER_CAPABILITIES must include graphics';
  }
  return `no Vulkan driver accepted a device (drivers: ${icds.join(', ')})`;
}
