/**
 * Device-side reductions of one batch of captures for the fitting stages. Each returns sums over the
 * batch (float32, summed into float64 by the caller), so stages are sums and shards simply add.
 */
import { readback, type Readback } from '../device/readback';
import { tf, type Tensor, type Tensor2D, type Tensor3D } from '../tf';
import { batchMatMul, gramMatrix } from '../model/ops';
import type { DeviceCaptures, DeviceModuleCapture } from '../capture/deviceCaptures';

export interface ModuleSum {
  name: string;
  data: Float32Array;
}

/** Σ a_t a_tᵀ and Σ g_t g_tᵀ over the real tokens (padding rows are zero). */
export function covarianceSums(c: DeviceCaptures): Readback<{ A: ModuleSum[]; S: ModuleSum[]; tokens: number }> {
  const n = c.modules.length;
  return readback([...c.modules.map((m) => gramMatrix(m.a)), ...c.modules.map((m) => gramMatrix(m.g))], (data) => ({
    A: c.modules.map((m, i) => ({ name: m.module.name, data: data[i] as Float32Array })),
    S: c.modules.map((m, i) => ({ name: m.module.name, data: data[n + i] as Float32Array })),
    tokens: c.tokenCounts.reduce((x, y) => x + y, 0),
  }));
}

/** Per-module tensors read back as named sums. */
function moduleSums(c: DeviceCaptures, tensors: Tensor[]): Readback<ModuleSum[]> {
  return readback(tensors, (data) => c.modules.map((m, i) => ({ name: m.module.name, data: data[i] as Float32Array })));
}

/** G_d = Σ_t g_t a_tᵀ for every sequence of the batch: [B, out, in]. */
export function perSequenceGradients(c: DeviceCaptures, m: DeviceModuleCapture): Tensor3D {
  const inDim = m.a.shape[1];
  const outDim = m.g.shape[1];
  const a3 = tf.reshape(m.a, [c.B, c.L, inDim]) as Tensor3D;
  const gT = tf.transpose(tf.reshape(m.g, [c.B, c.L, outDim]), [0, 2, 1]) as Tensor3D;
  return batchMatMul(gT, a3);
}

/**
 * Q_Sᵀ G_d Q_A for every G_d of [B, out, in], returned transposed as [B·in, out] (two 2-D products,
 * which wasm runs fast, instead of batched ones).
 */
export function rotateTransposed(G: Tensor3D, QA: Tensor2D, QS: Tensor2D): Tensor2D {
  const [B, outDim, inDim] = G.shape;
  const right = tf.reshape(tf.matMul(tf.reshape(G, [B * outDim, inDim]) as Tensor2D, QA), [B, outDim, inDim]);
  return tf.matMul(tf.reshape(tf.transpose(right, [0, 2, 1]), [B * inDim, outDim]) as Tensor2D, QS);
}

/**
 * Σ_d (Q_Sᵀ G_d Q_A)² per module, [out×in]: the EK-FAC eigenvalue correction's numerator. Two orders give
 * the same rotated gradients: rotating each G_d (out·in·(in+out) per document) or rotating the captures
 * first, ã = a Q_A and g̃ = g Q_S, then G̃_d = g̃_dᵀ ã_d (L·(in²+out²) per document, in two large products):
 * the cheaper one for the batch's padded length is taken (on the demo model the second below 154 tokens).
 */
export function ekfacLambdaSums(c: DeviceCaptures, bases: Map<string, { QA: Tensor2D; QS: Tensor2D }>): Readback<ModuleSum[]> {
  return moduleSums(
    c,
    c.modules.map((m) => {
      const { QA, QS } = bases.get(m.module.name)!;
      const inDim = m.a.shape[1];
      const outDim = m.g.shape[1];
      if (c.L * (inDim * inDim + outDim * outDim) < outDim * inDim * (inDim + outDim)) {
        const rotated = { ...m, a: tf.matMul(m.a, QA) as Tensor2D, g: tf.matMul(m.g, QS) as Tensor2D };
        return tf.sum(tf.square(perSequenceGradients(c, rotated)), 0);
      }
      const rotT = rotateTransposed(perSequenceGradients(c, m), QA, QS);
      return tf.transpose(tf.sum(tf.reshape(tf.square(rotT), [c.B, inDim, -1]), 0));
    }),
  );
}

/** Σ_d G_d² per module, [out×in]: the diagonal strategy's Fisher. */
export function diagonalSums(c: DeviceCaptures): Readback<ModuleSum[]> {
  return moduleSums(
    c,
    c.modules.map((m) => tf.sum(tf.square(perSequenceGradients(c, m)), 0)),
  );
}
