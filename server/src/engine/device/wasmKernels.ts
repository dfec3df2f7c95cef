/**
 * Kernels of our own for tfjs's WebAssembly backend, where its own cost the engine memory or time.
 *
 * Identity: tfjs clones every tensor its gradient tape saves for the backward pass (each op's inputs or
 * outputs), and the wasm backend's Identity copies the data. In a capture pass (forward and backward over a
 * batch) that doubled the memory the forward pass holds — 460 MB where the tensors themselves take 200 MB,
 * demo model, 8 × 256 tokens — and spent the time of the copies. Tensors are immutable, so the clone can
 * share the data, counted by reference, as the wasm backend's Reshape and the CPU backend's Identity do.
 */
import { tf } from '../tf';

interface RefCountingBackend {
  incRef(dataId: object): void;
}

/** Replaces tfjs's kernels by ours; called once, when the wasm backend is first configured (wasm.ts). */
export function registerWasmKernels(): void {
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as RefCountingBackend).incRef(x.dataId);
      return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
    },
  });
}
