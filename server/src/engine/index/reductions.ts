/** Device side of the index: each document's rotated gradient, and the entries that matter most for it. */
import { readback, type Readback } from '../backend/readback';
import { lossPerSequence } from '../capture/targets';
import { tf, type Tensor1D, type Tensor2D } from '../tf';
import type { DeviceCaptures } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';
import { BLOCK } from './types';

export interface DeviceIndexModule {
  QA: Tensor2D;
  QS: Tensor2D;
  /** Per entry of the transposed rotation (column i·out + o, padded to blocks): how much a unit of R_d counts, √Λ / (Λ + λ). */
  weights: Tensor1D;
  blocks: number;
  kept: number;
}

/** R_d = Q_Sᵀ G_d Q_A per sequence in the transposed order (column i·out + o), padded to whole blocks: [B, blocks·BLOCK]. */
function rotatedBlocks(c: DeviceCaptures, name: string, basis: DeviceIndexModule): Tensor2D {
  const m = c.modules.find((x) => x.module.name === name);
  if (!m) throw new Error(`module ${name} is not tracked in this compute thread`);
  const rot = tf.reshape(rotateTransposed(perSequenceGradients(c, m), basis.QA, basis.QS), [c.B, -1]) as Tensor2D;
  const pad = basis.blocks * BLOCK - rot.shape[1];
  return pad > 0 ? tf.pad(rot, [[0, 0], [0, pad]]) : rot;
}

/**
 * Per document, module after module, the `kept` blocks of R_d with the largest Σ |R_d| · √Λ / (Λ + λ) over
 * their entries: their block numbers, and their BLOCK values each.
 */
export function indexRows(c: DeviceCaptures, modules: Map<string, DeviceIndexModule>, order: string[]): Readback<{ blocks: Int32Array; values: Float32Array }> {
  const picked = order.map((name) =>
    tf.tidy(() => {
      const basis = modules.get(name)!;
      const rot = rotatedBlocks(c, name, basis);
      const weight = tf.sum(tf.reshape(tf.mul(tf.abs(rot), basis.weights), [c.B, basis.blocks, BLOCK]), 2);
      const { indices } = tf.topk(weight, basis.kept, false);
      // A flat gather: wasm's gather with batchDims returns wrong rows past the first (tfjs 4.22).
      const flat = tf.add(indices, tf.reshape(tf.range(0, c.B * basis.blocks, basis.blocks, 'int32'), [c.B, 1]));
      return { indices, values: tf.reshape(tf.gather(tf.reshape(rot, [-1, BLOCK]), tf.reshape(flat, [-1])), [c.B, basis.kept * BLOCK]) };
    }),
  );
  const blocks = tf.concat(picked.map((p) => p.indices), 1);
  const values = tf.concat(picked.map((p) => p.values), 1);
  picked.forEach((p) => tf.dispose([p.indices, p.values]));
  return readback([blocks, values], ([b, v]) => ({ blocks: b as Int32Array, values: v as Float32Array }));
}

/**
 * R_qᵀ of sequence b from its tokens, without forming G: R_qᵀ = (A Q_A)ᵀ (G Q_S) for A [L × in] and
 * G [L × out]. For a query of L tokens this is L·(in² + out² + in·out) multiply-adds against
 * in·out·(L + in + out) for rotating G, ~4× fewer for the demo model's 30-token queries.
 */
function rotatedFromTokens(c: DeviceCaptures, name: string, basis: DeviceIndexModule, b: number): Tensor2D {
  const m = c.modules.find((x) => x.module.name === name);
  if (!m) throw new Error(`module ${name} is not tracked in this compute thread`);
  const a = tf.slice(m.a, [b * c.L, 0], [c.L, m.a.shape[1]]);
  const g = tf.slice(m.g, [b * c.L, 0], [c.L, m.g.shape[1]]);
  // An explicit transpose: wasm's matMul with transposeA is 10–30× slower.
  return tf.matMul(tf.transpose(tf.matMul(a, basis.QA)), tf.matMul(g, basis.QS));
}

/**
 * Per query sequence, its completion loss and every module's R_q in the index's order (transposed,
 * padded to blocks), module after module: [B × Σ blocks·BLOCK].
 */
export function indexQueryRows(c: DeviceCaptures, modules: Map<string, DeviceIndexModule>, order: string[]): Readback<{ losses: number[]; vectors: Float32Array }> {
  const widths = order.map((name) => modules.get(name)!.blocks * BLOCK);
  const P = widths.reduce((x, y) => x + y, 0);
  const rows = Array.from({ length: c.B }, (_, b) => order.map((name) => rotatedFromTokens(c, name, modules.get(name)!, b)));
  return readback([c.tokenLosses, ...rows.flat()], ([losses, ...rotated]) => {
    // The data leaves the device as typed arrays placed here, never through tidy (which walks a returned
    // typed array element by element, ~200 ns each).
    const vectors = new Float32Array(c.B * P); // zero on each module's padding
    for (let b = 0; b < c.B; b++) {
      let off = b * P;
      order.forEach((_, j) => {
        vectors.set(rotated[b * order.length + j], off);
        off += widths[j];
      });
    }
    return { losses: lossPerSequence(c.B, c.L, losses), vectors };
  });
}
