/** Device-side scoring of one batch of captured documents against prepared queries: score tensors, left on the device. */
import { tf, type Tensor2D } from '../tf';
import type { DeviceCaptures } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';

export type DeviceQueryModule =
  | { kind: 'dense'; PT: Tensor2D /* [out·in, Q] */ }
  | { kind: 'lowrank'; L: Tensor2D /* [out, Q·r] */; R: Tensor2D /* [in, Q·r] */; rank: number };

/** I(q, d) for every document of the batch and every query, summed over modules: [B × Q]. */
export function pairwiseScores(c: DeviceCaptures, queries: Map<string, DeviceQueryModule>, count: number): tf.Tensor {
  let total: tf.Tensor = tf.zeros([c.B, count]);
  for (const m of c.modules) {
    const q = queries.get(m.module.name);
    if (!q) continue;
    if (q.kind === 'dense') {
      // ⟨P_q, G_d⟩ with G_d materialised once per document.
      const G = perSequenceGradients(c, m);
      total = tf.add(total, tf.matMul(tf.reshape(G, [c.B, -1]) as Tensor2D, q.PT));
    } else {
      // Σ_t (g_tᵀ L)(Rᵀ a_t), never forming G_d: cheaper when r·(in+out)·Q < in·out.
      const per = tf.mul(tf.matMul(m.g, q.L), tf.matMul(m.a, q.R));
      const perToken = tf.sum(tf.reshape(per, [c.B * c.L, count, q.rank]), 2);
      total = tf.add(total, tf.sum(tf.reshape(perToken, [c.B, c.L, count]), 1));
    }
  }
  return total;
}

export interface DeviceSelfModule {
  QA?: Tensor2D;
  QS?: Tensor2D;
  /** 1/(Λ+λ), transposed to [in, out] when rotating (to match rotateTransposed), else [out, in]. */
  inverseDamped: Tensor2D;
}

/** I(d, d) = Σ_modules ⟨G_d, P_d⟩ for every document of the batch: [B]. */
export function selfScores(c: DeviceCaptures, pre: Map<string, DeviceSelfModule>): tf.Tensor {
  let total: tf.Tensor = tf.zeros([c.B]);
  for (const m of c.modules) {
    const p = pre.get(m.module.name);
    if (!p) continue;
    const G = perSequenceGradients(c, m);
    const rotated = p.QA && p.QS ? tf.reshape(rotateTransposed(G, p.QA, p.QS), G.shape.slice(0, 1).concat([m.a.shape[1], m.g.shape[1]])) : G;
    total = tf.add(total, tf.sum(tf.mul(tf.square(rotated), p.inverseDamped), [1, 2]));
  }
  return total;
}

/** g_tᵀ P a_t for every token of one document (batch of 1) and one query, summed over modules: [L]. */
export function tokenScores(c: DeviceCaptures, P: Map<string, Tensor2D /* PT [in, out] */>): tf.Tensor {
  let total: tf.Tensor = tf.zeros([c.L]);
  for (const m of c.modules) {
    const PT = P.get(m.module.name);
    if (!PT) continue;
    total = tf.add(total, tf.sum(tf.mul(tf.matMul(m.a, PT), m.g), 1));
  }
  return total;
}
