/**
 * The one list of compute backends, in auto's order of preference, each with what it is. Everything else
 * derives from it: the engine's choice (backend.ts), the server's settings validation, the CLI's help, the
 * client's "Select Compute Backend…" picker (through protocol.ts, which re-exports it) and, checked by
 * test/unit/backend.test.ts, package.json's `influenceLens.backend` enum. It imports nothing, so the
 * compute worker and the CLI bundle it without the LSP protocol library that protocol.ts pulls in.
 */
export const BACKENDS = [
  { name: 'tensorflow-gpu', description: '@tensorflow/tfjs-node-gpu (CUDA), where installed' },
  { name: 'webgpu', description: 'WebGPU through the webgpu package (Vulkan, Metal or D3D12), where installed; forced, it also runs on a software adapter' },
  { name: 'tensorflow', description: '@tensorflow/tfjs-node, where installed' },
  { name: 'wasm', description: 'WebAssembly SIMD, one thread per core (portable)' },
  { name: 'cpu', description: 'plain JavaScript (slow; a last resort)' },
] as const;

export type BackendName = (typeof BACKENDS)[number]['name'];
export type BackendRequest = BackendName | 'auto';

/** Every backend's name, in auto's order of preference. */
export const BACKEND_NAMES: readonly BackendName[] = BACKENDS.map((b) => b.name);

/** What the setting offers, with descriptions: auto first, then every backend in auto's order. */
export const BACKEND_CHOICES: readonly { name: BackendRequest; description: string }[] = [
  { name: 'auto', description: `the first that works here, in this order: ${BACKEND_NAMES.join(', ')} (webgpu only on a hardware adapter)` },
  ...BACKENDS,
];

/** The GPU adapter a WebGPU backend runs on, as the picker and the status show it. */
export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, llvmpipe, SwiftShader): never chosen by auto. */
  software: boolean;
}
