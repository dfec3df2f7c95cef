/**
 * Batched products of small slices in one WebAssembly call (bmm.wat), for the wasm backend: c[z] = a[z]·b[z];
 * and Gram matrices xᵀx from their upper triangle. The operands are copied into the kernel's own memory
 * (tfjs's heap is not ours to write), N padded to a multiple of 4 with zero columns; the result is read from
 * there.
 */
import { BMM_WASM_BASE64 } from './bmmWasm';
import { growingKernel } from '../../util/wasmInstance';

interface BmmExports {
  bmm(Z: number, M: number, K: number, N: number, a: number, b: number, c: number): void;
  gram(K: number, N: number, x: number, c: number): void;
}

/** Calls, FLOPs and time of the kernel in this thread so far (tf.profile cannot see it: bench/profile.ts reads these). */
export const bmmKernelCounters = { calls: 0, flops: 0, ms: 0 };

const instance = growingKernel<BmmExports>(BMM_WASM_BASE64);

/**
 * [Z, M, K] · [Z, K, N] → [Z, M, N] (row-major float32). The result is a view of the kernel's memory,
 * valid until the next call: copy it (making a tensor of it does) before calling again.
 */
export function smallBatchMatMul(a: Float32Array, b: Float32Array, Z: number, M: number, K: number, N: number): Float32Array {
  const Np = Math.ceil(N / 4) * 4;
  const aAt = 0;
  const bAt = aAt + 4 * Z * M * K;
  const cAt = bAt + 4 * Z * K * Np;
  const { memory, exports } = instance(cAt + 4 * Z * M * Np);
  const heap = new Float32Array(memory.buffer);
  heap.set(a.subarray(0, Z * M * K), aAt / 4);
  if (Np === N) heap.set(b.subarray(0, Z * K * N), bAt / 4);
  else
    for (let r = 0; r < Z * K; r++) {
      heap.set(b.subarray(r * N, (r + 1) * N), bAt / 4 + r * Np);
      heap.fill(0, bAt / 4 + r * Np + N, bAt / 4 + (r + 1) * Np);
    }
  const t0 = performance.now();
  exports.bmm(Z, M, K, Np, aAt, bAt, cAt);
  bmmKernelCounters.ms += performance.now() - t0;
  bmmKernelCounters.calls++;
  bmmKernelCounters.flops += 2 * Z * M * K * N;
  if (Np === N) return heap.subarray(cAt / 4, cAt / 4 + Z * M * N);
  const out = new Float32Array(Z * M * N);
  for (let r = 0; r < Z * M; r++) out.set(heap.subarray(cAt / 4 + r * Np, cAt / 4 + r * Np + N), r * N);
  return out;
}

/**
 * xᵀx for x [K × N] row-major float32, as a new [N × N] array: the kernel computes the blocks of 4 × 8 that
 * reach the diagonal or lie right of it (about half a general product's work) and the rest is mirrored here.
 */
export function symmetricGram(x: Float32Array, K: number, N: number): Float32Array {
  const Np = Math.ceil(N / 8) * 8;
  const xAt = 0;
  const cAt = 4 * K * Np;
  const { memory, exports } = instance(cAt + 4 * Np * Np);
  const heap = new Float32Array(memory.buffer);
  if (Np === N) heap.set(x.subarray(0, K * N), xAt / 4);
  else
    for (let r = 0; r < K; r++) {
      heap.set(x.subarray(r * N, (r + 1) * N), xAt / 4 + r * Np);
      heap.fill(0, xAt / 4 + r * Np + N, xAt / 4 + (r + 1) * Np);
    }
  const t0 = performance.now();
  exports.gram(K, Np, xAt, cAt);
  bmmKernelCounters.ms += performance.now() - t0;
  bmmKernelCounters.calls++;
  bmmKernelCounters.flops += K * Np * (Np + 8); // ≈ the blocks computed, 2 FLOPs per multiply-add
  const c = heap.subarray(cAt / 4, cAt / 4 + Np * Np);
  const out = new Float32Array(N * N);
  for (let i = 0; i < N; i++) {
    // Row i: from the block holding the diagonal on, the kernel's row i; left of it, column i of the rows above.
    const from = i & ~7;
    out.set(c.subarray(i * Np + from, i * Np + N), i * N + from);
    for (let j = 0; j < from; j++) out[i * N + j] = c[j * Np + i];
  }
  return out;
}
