/**
 * A WebAssembly kernel of our own with a memory of its own, made on first use and grown on demand: the
 * engine's kernels copy their operands in (tfjs's heap is not ours to write) and read results out.
 */
const PAGE = 65_536;

/** n rounded up to a multiple of 16 (a SIMD vector's bytes): where a kernel's operands start. */
export const align16 = (n: number) => Math.ceil(n / 16) * 16;

export interface KernelInstance<E> {
  memory: WebAssembly.Memory;
  exports: E;
}

/** A function that returns the kernel's instance with at least `bytes` of memory. */
export function growingKernel<E>(base64: string): (bytes: number) => KernelInstance<E> {
  let kernel: KernelInstance<E> | undefined;
  return (bytes) => {
    if (!kernel) {
      const memory = new WebAssembly.Memory({ initial: 1, maximum: 65_536 });
      const compiled = new WebAssembly.Module(Buffer.from(base64, 'base64'));
      kernel = { memory, exports: new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as E };
    }
    const have = kernel.memory.buffer.byteLength;
    if (bytes > have) kernel.memory.grow(Math.ceil((bytes - have) / PAGE));
    return kernel;
  };
}
