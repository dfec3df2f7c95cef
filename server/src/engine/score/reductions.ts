/** Device-side scoring of one batch of captured documents against prepared queries: score tensors, left on the device. */
import { tf, type Tensor2D, type Tensor3D } from '../tf';
import type { DeviceCaptures } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';

export type DeviceQueryModule =
  { kind: 'dense'; PT: Tensor2D /* [out·in, Q] */ } | { kind: 'lowrank'; L: Tensor2D /* [out, Q·r] */; R: Tensor2D /* [in, Q·r] */; rank: number };

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

/**
 * Preconditioned gradients of a batch of queries for one module, G [Q, out, in] → P [Q·out, in]:
 * P = Q_S [(Q_Sᵀ G Q_A) ⊘ (Λ + λ)] Q_Aᵀ when rotating, else G ⊘ (Λ + λ). Four 2-D products over the whole
 * batch, transposes explicit (wasm's matMul with a transposed operand is slow).
 */
export function preconditionedGradients(G: Tensor3D, p: DeviceSelfModule): Tensor2D {
  const [Q, outDim, inDim] = G.shape;
  if (!p.QA || !p.QS) return tf.reshape(tf.mul(G, p.inverseDamped), [Q * outDim, inDim]) as Tensor2D;
  const scaled = tf.mul(tf.reshape(rotateTransposed(G, p.QA, p.QS), [Q, inDim, outDim]), p.inverseDamped); // R̃ᵀ per query
  const back = tf.matMul(tf.reshape(scaled, [Q * inDim, outDim]) as Tensor2D, tf.transpose(p.QS)); // R̃ᵀ Q_Sᵀ
  const flipped = tf.reshape(tf.transpose(tf.reshape(back, [Q, inDim, outDim]), [0, 2, 1]), [Q * outDim, inDim]) as Tensor2D; // Q_S R̃
  return tf.matMul(flipped, tf.transpose(p.QA)) as Tensor2D;
}

/**
 * A query's preconditioned gradient per module, transposed, kept on the device for per-token scoring:
 * Pᵀ = Q_A ((Q_Sᵀ G Q_A)ᵀ ⊙ 1/(Λ+λ)ᵀ) Q_Sᵀ [in, out] when rotating, else (G ⊙ 1/(Λ+λ))ᵀ. The tensors are
 * kept (they outlive the capture's tidy scope); the caller owns and disposes them.
 */
export function keptTokenQuery(c: DeviceCaptures, pre: Map<string, DeviceSelfModule>): Map<string, Tensor2D> {
  const out = new Map<string, Tensor2D>();
  for (const m of c.modules) {
    const p = pre.get(m.module.name);
    if (!p) continue;
    const G = perSequenceGradients(c, m); // [1, out, in]
    let PT: Tensor2D;
    if (p.QA && p.QS) {
      const scaled = tf.mul(rotateTransposed(G, p.QA, p.QS), p.inverseDamped) as Tensor2D; // [in, out]
      PT = tf.matMul(tf.matMul(p.QA, scaled), tf.transpose(p.QS)) as Tensor2D;
    } else {
      PT = tf.transpose(tf.mul(tf.reshape(G, G.shape.slice(1)), p.inverseDamped)) as Tensor2D;
    }
    out.set(m.module.name, tf.keep(PT));
  }
  return out;
}

/** g_tᵀ P a_t for every token of every document of the batch, summed over modules: [B·L] (zero on padding). */
export function tokenScores(c: DeviceCaptures, P: Map<string, Tensor2D /* PT [in, out] */>): tf.Tensor {
  let total: tf.Tensor = tf.zeros([c.B * c.L]);
  for (const m of c.modules) {
    const PT = P.get(m.module.name);
    if (!PT) continue;
    total = tf.add(total, tf.sum(tf.mul(tf.matMul(m.a, PT), m.g), 1));
  }
  return total;
}
