/**
 * The eigenvalue correction's two orders (rotate each document's gradient, or rotate the captures first,
 * chosen by the batch's padded length) both equal Σ_d (Q_Sᵀ G_d Q_A)² computed independently in float64.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { download, type Readback } from '../../server/src/engine/device/readback';
import type { DeviceCaptures } from '../../server/src/engine/capture/deviceCaptures';
import { ekfacLambdaSums, type ModuleSum } from '../../server/src/engine/ekfac/reductions';
import type { TrackedModule } from '../../server/src/engine/model/tfModel';
import { tf, type Tensor2D } from '../../server/src/engine/tf';

let seed = 11;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
const randoms = (n: number) => Float64Array.from({ length: n }, rand);

/** Σ_d (Q_Sᵀ G_d Q_A)², G_d = Σ_t g_t a_tᵀ, in float64 from the same numbers. */
function reference(B: number, L: number, a: Float64Array, g: Float64Array, QA: Float64Array, QS: Float64Array, inDim: number, outDim: number): Float64Array {
  const out = new Float64Array(outDim * inDim);
  for (let b = 0; b < B; b++) {
    const G = new Float64Array(outDim * inDim);
    for (let t = 0; t < L; t++)
      for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) G[o * inDim + i] += g[(b * L + t) * outDim + o] * a[(b * L + t) * inDim + i];
    const GQ = new Float64Array(outDim * inDim); // G Q_A
    for (let o = 0; o < outDim; o++) for (let j = 0; j < inDim; j++) for (let i = 0; i < inDim; i++) GQ[o * inDim + j] += G[o * inDim + i] * QA[i * inDim + j];
    for (let p = 0; p < outDim; p++)
      for (let j = 0; j < inDim; j++) {
        let r = 0;
        for (let o = 0; o < outDim; o++) r += QS[o * outDim + p] * GQ[o * inDim + j];
        out[p * inDim + j] += r * r;
      }
  }
  return out;
}

async function check(L: number) {
  const B = 3;
  const inDim = 12;
  const outDim = 20;
  const a = randoms(B * L * inDim);
  const g = randoms(B * L * outDim);
  const QA = randoms(inDim * inDim);
  const QS = randoms(outDim * outDim);
  const module = { name: 'm', inDim, outDim } as TrackedModule;
  const tensors = {
    a: tf.tensor2d(Float32Array.from(a), [B * L, inDim]),
    g: tf.tensor2d(Float32Array.from(g), [B * L, outDim]),
    QA: tf.tensor2d(Float32Array.from(QA), [inDim, inDim]),
    QS: tf.tensor2d(Float32Array.from(QS), [outDim, outDim]),
  };
  try {
    const c = { B, L, modules: [{ module, a: tensors.a, g: tensors.g }] } as unknown as DeviceCaptures;
    const bases = new Map([['m', { QA: tensors.QA as Tensor2D, QS: tensors.QS as Tensor2D }]]);
    // The intermediate products are freed by the scope; the sums it names are read back (and freed) by download.
    const sums = tf.tidy(() => ekfacLambdaSums(c, bases) as unknown as tf.TensorContainer) as unknown as Readback<ModuleSum[]>;
    const [sum] = await download(sums);
    const want = reference(B, L, a, g, QA, QS, inDim, outDim);
    const scale = Math.max(...want);
    want.forEach((x, k) => assert.ok(Math.abs(sum.data[k] - x) <= 1e-4 * scale, `L=${L} [${k}]: ${sum.data[k]} vs ${x}`));
  } finally {
    tf.dispose(Object.values(tensors));
  }
}

test('Λ sums equal the float64 reference when each document is rotated (long batch)', () => check(40));
test('Λ sums equal the float64 reference when the captures are rotated first (short batch)', () => check(5));
