/** Device side of the index: each document's rotated gradient, and the entries that matter most for it. */
import { tf, type Tensor1D, type Tensor2D } from '../tf';
import type { DeviceCaptures } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';

export interface DeviceIndexModule {
  QA: Tensor2D;
  QS: Tensor2D;
  /** Per entry of the transposed rotation (column i·out + o): how much a unit of R_d counts, √Λ / (Λ + λ). */
  weights: Tensor1D;
  kept: number;
}

/**
 * Per document, module after module, the `kept` entries of R_d = Q_Sᵀ G_d Q_A with the largest
 * |R_d| · √Λ / (Λ + λ): their columns i·out + o in the transposed rotation, and their values.
 */
export function indexRows(c: DeviceCaptures, modules: Map<string, DeviceIndexModule>, order: string[]): { columns: Int32Array; values: Float32Array } {
  const picked = order.map((name) =>
    tf.tidy(() => {
      const m = c.modules.find((x) => x.module.name === name);
      if (!m) throw new Error(`module ${name} is not tracked in this compute thread`);
      const basis = modules.get(name)!;
      const rot = tf.reshape(rotateTransposed(perSequenceGradients(c, m), basis.QA, basis.QS), [c.B, -1]) as Tensor2D; // [B, in·out]
      const { indices } = tf.topk(tf.mul(tf.abs(rot), basis.weights), basis.kept, false);
      // A flat gather: wasm's gather with batchDims returns wrong rows past the first (tfjs 4.22).
      const width = rot.shape[1];
      const flat = tf.add(indices, tf.reshape(tf.range(0, c.B * width, width, 'int32'), [c.B, 1]));
      return { indices, values: tf.reshape(tf.gather(tf.reshape(rot, [-1]), tf.reshape(flat, [-1])), [c.B, basis.kept]) };
    }),
  );
  try {
    return {
      columns: tf.concat(picked.map((p) => p.indices), 1).dataSync() as Int32Array,
      values: tf.concat(picked.map((p) => p.values), 1).dataSync() as Float32Array,
    };
  } finally {
    picked.forEach((p) => tf.dispose([p.indices, p.values]));
  }
}
