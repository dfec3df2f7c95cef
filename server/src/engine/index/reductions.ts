/** Device side of the index: each document's rotated gradient at the kept positions. */
import { tf, type Tensor, type Tensor2D } from '../tf';
import type { DeviceCaptures } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';

export interface DeviceIndexModule {
  QA: Tensor2D;
  QS: Tensor2D;
  /** Column indices into the transposed rotation [in × out] flattened: i·out + o. */
  columns: Tensor;
}

/** [B × rowDim]: per document, the kept entries of Q_Sᵀ G_d Q_A, module after module. */
export function indexRows(c: DeviceCaptures, modules: Map<string, DeviceIndexModule>, order: string[]): Float32Array {
  const parts = order.map((name) => {
    const m = c.modules.find((x) => x.module.name === name);
    if (!m) throw new Error(`module ${name} is not tracked in this compute thread`);
    const basis = modules.get(name)!;
    const rotT = rotateTransposed(perSequenceGradients(c, m), basis.QA, basis.QS); // [B·in, out]
    return tf.gather(tf.reshape(rotT, [c.B, -1]), basis.columns, 1);
  });
  return tf.concat(parts, 1).dataSync() as Float32Array;
}
