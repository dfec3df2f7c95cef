/**
 * Device side of the index: each document's sketch (index rows) and each query's, from a batch of
 * captures. Kronecker sketches (eigen, kron) come straight from the tokens, (g W_S)ᵀ (a W_A), without
 * forming G; count and blocks rotate every document's gradient into the eigenbasis first.
 */
import { joinReadbacks, readback, type Readback } from '../device/readback';
import { tf, type Tensor, type Tensor1D, type Tensor2D, type Tensor3D } from '../tf';
import type { DeviceCaptures, DeviceModuleCapture } from '../capture/deviceCaptures';
import { perSequenceGradients, rotateTransposed } from '../ekfac/reductions';
import { batchMatMul } from '../model/ops';
import { countBucket, type SketchBasisMessage } from './projection';
import { DeviceRescore } from './rescore/reductions';
import type { RescoreSettings } from './rescore/layout';
import type { WhiteningMessage } from './rescore/basis';
import { BLOCK, LANES } from './types';

interface DeviceKron {
  kind: 'kron';
  kS: number;
  kA: number;
  WS: Tensor2D;
  WA: Tensor2D;
  query?: { QS: Tensor2D; QA: Tensor2D; VT: Tensor2D; PS?: Tensor2D; PAT?: Tensor2D };
}

interface DeviceRotation {
  kind: 'rotate';
  QA: Tensor2D;
  QS: Tensor2D;
  weights: Tensor1D;
  width: number;
  blocks?: number;
  kept?: number;
  /** count: per entry (transposed order), its bucket · 2 + (sign < 0). */
  buckets?: Int32Array;
  dims?: number;
}

type DeviceModule = DeviceKron | DeviceRotation;

/** What a document batch's sketch gives: int8-to-be values per row (and the blocks sketch's block numbers). */
export interface SketchRows {
  /** [B × values per row] */
  values: Float32Array;
  /** blocks: [B × kept blocks] */
  blocks?: Int32Array;
  /** The rescoring tier's packed rows, one per document (unsealed), when the index has that tier. */
  rescore?: Uint8Array[];
}

/** The rescoring tier a thread writes (index builds) or scores (queries): its settings, the tracked modules' names in order, its whitening. */
export interface RescoreBasisMessage {
  settings: RescoreSettings;
  names: string[];
  whitening?: WhiteningMessage[];
}

const padded = (n: number) => Math.ceil(n / LANES) * LANES;

/** One compute thread's sketch of every tracked module, uploaded once (setIndexBasis) and replaced as a whole. */
export class DeviceSketch {
  private readonly modules: { name: string; m: DeviceModule }[];
  private readonly rescore: DeviceRescore | undefined;

  constructor(messages: SketchBasisMessage[], rescore?: RescoreBasisMessage) {
    this.modules = messages.map((x) => ({ name: x.name, m: upload(x) }));
    this.rescore = rescore && new DeviceRescore(rescore.settings, rescore.names, rescore.whitening);
  }

  dispose(): void {
    this.rescore?.dispose();
    for (const { m } of this.modules) {
      if (m.kind === 'kron') tf.dispose([m.WS, m.WA, ...(m.query ? Object.values(m.query).filter((t): t is Tensor2D => t !== undefined) : [])]);
      else tf.dispose([m.QA, m.QS, m.weights]);
    }
  }

  /** Every document's sketch, module after module (count: all modules summed into one segment), and its rescoring row. */
  rows(c: DeviceCaptures): Readback<SketchRows> {
    const sketch = this.sketchRows(c);
    return this.rescore ? joinReadbacks(sketch, this.rescore.rows(c), (rows, rescore) => ({ ...rows, rescore })) : sketch;
  }

  private sketchRows(c: DeviceCaptures): Readback<SketchRows> {
    const first = this.modules[0]?.m;
    if (!first) throw new Error('no index sketch is set in this compute thread');
    if (first.kind === 'kron') return this.kronRows(c);
    if (first.blocks !== undefined) return this.blockRows(c);
    return this.countRows(c, first.dims!);
  }

  /** The rescoring tier set on this thread with the sketch. */
  get rescoring(): DeviceRescore {
    if (!this.rescore) throw new Error('no rescoring tier is set in this compute thread');
    return this.rescore;
  }

  /** Per query sequence, module after module: the sketch (eigen, kron) or R_q in the transposed order (count, blocks). */
  queries(c: DeviceCaptures): Readback<Float32Array> {
    const widths = this.modules.map(({ m }) => (m.kind === 'kron' ? padded(m.kS * m.kA) : m.width));
    const P = widths.reduce((x, y) => x + y, 0);
    const parts: Tensor[] = [];
    for (let b = 0; b < c.B; b++) {
      for (const { name, m } of this.modules)
        parts.push(m.kind === 'kron' ? kronQuery(c, capture(c, name), m, b) : rotatedFromTokens(c, capture(c, name), m.QA, m.QS, b));
    }
    return readback(parts, (data) => {
      // The data is placed here as typed arrays, never returned through tidy (which walks a returned typed
      // array element by element, ~200 ns each).
      const out = new Float32Array(c.B * P); // zero on each module's padding
      for (let b = 0; b < c.B; b++) {
        let off = b * P;
        widths.forEach((w, j) => {
          out.set(data[b * widths.length + j], off);
          off += w;
        });
      }
      return out;
    });
  }

  private kronRows(c: DeviceCaptures): Readback<SketchRows> {
    const parts = this.modules.map(({ name, m }) => {
      const { kS, kA, WS, WA } = m as DeviceKron;
      const x = capture(c, name);
      // (g W_S)ᵀ (a W_A) per sequence: [B, kS, L] × [B, L, kA].
      const gw = tf.transpose(tf.reshape(tf.matMul(x.g, WS), [c.B, c.L, kS]), [0, 2, 1]) as Tensor3D;
      const aw = tf.reshape(tf.matMul(x.a, WA), [c.B, c.L, kA]) as Tensor3D;
      const flat = tf.reshape(batchMatMul(gw, aw), [c.B, kS * kA]) as Tensor2D;
      const pad = padded(kS * kA) - kS * kA;
      return pad > 0
        ? tf.pad(flat, [
            [0, 0],
            [0, pad],
          ])
        : flat;
    });
    return readback([tf.concat(parts, 1)], ([values]) => ({ values: values as Float32Array }));
  }

  private countRows(c: DeviceCaptures, dims: number): Readback<SketchRows> {
    const rotations = this.modules.map(({ m }) => m as DeviceRotation);
    const parts = this.modules.map(({ name }, j) => tf.mul(rotated(c, capture(c, name), rotations[j]), rotations[j].weights));
    return readback(parts, (data) => {
      const width = padded(dims);
      const out = new Float32Array(c.B * width);
      rotations.forEach((r, j) => {
        const codes = r.buckets!;
        for (let b = 0; b < c.B; b++) {
          const row = data[j].subarray(b * r.width, (b + 1) * r.width);
          const acc = out.subarray(b * width, (b + 1) * width);
          for (let p = 0; p < row.length; p++) {
            const code = codes[p];
            acc[code >> 1] += code & 1 ? -row[p] : row[p];
          }
        }
      });
      return { values: out };
    });
  }

  /** Per document, module after module, the `kept` blocks of R_d with the largest Σ |R_d| · weight. */
  private blockRows(c: DeviceCaptures): Readback<SketchRows> {
    const picked = this.modules.map(({ name, m }) => {
      const r = m as DeviceRotation;
      const rot = rotated(c, capture(c, name), r);
      const weight = tf.sum(tf.reshape(tf.mul(tf.abs(rot), r.weights), [c.B, r.blocks!, BLOCK]), 2);
      const { indices } = tf.topk(weight, r.kept!, false);
      // A flat gather: wasm's gather with batchDims returns wrong rows past the first (tfjs 4.22).
      const flat = tf.add(indices, tf.reshape(tf.range(0, c.B * r.blocks!, r.blocks!, 'int32'), [c.B, 1]));
      return { indices, values: tf.reshape(tf.gather(tf.reshape(rot, [-1, BLOCK]), tf.reshape(flat, [-1])), [c.B, r.kept! * BLOCK]) as Tensor2D };
    });
    const blocks = tf.concat(
      picked.map((p) => p.indices),
      1,
    );
    const values = tf.concat(
      picked.map((p) => p.values),
      1,
    );
    return readback([blocks, values], ([b, v]) => ({ blocks: b as Int32Array, values: v as Float32Array }));
  }
}

function upload(x: SketchBasisMessage): DeviceModule {
  const mat = (data: Float32Array, rows: number, cols: number) => tf.tensor2d(data, [rows, cols]);
  if (x.kind === 'kron') {
    const q = x.query;
    return {
      kind: 'kron',
      kS: x.kS,
      kA: x.kA,
      WS: mat(x.WS, x.outDim, x.kS),
      WA: mat(x.WA, x.inDim, x.kA),
      query: q && {
        QS: mat(q.QS, x.outDim, q.qS),
        QA: mat(q.QA, x.inDim, q.qA),
        VT: mat(q.VT, q.qA, q.qS),
        PS: q.PS && mat(q.PS, q.qS, x.kS),
        PAT: q.PAT && mat(q.PAT, x.kA, q.qA),
      },
    };
  }
  return {
    kind: 'rotate',
    QA: mat(x.QA, x.inDim, x.inDim),
    QS: mat(x.QS, x.outDim, x.outDim),
    weights: tf.tensor1d(x.weights),
    width: x.width,
    blocks: x.blocks,
    kept: x.kept,
    dims: x.count?.dims,
    buckets: x.count && bucketCodes(x.width, x.count),
  };
}

/** Each entry's count-sketch bucket and sign, computed once per thread. */
function bucketCodes(width: number, c: { seed: number; module: number; dims: number }): Int32Array {
  const codes = new Int32Array(width);
  for (let p = 0; p < width; p++) {
    const { bucket, sign } = countBucket(c.seed, c.module, p, c.dims);
    codes[p] = bucket * 2 + (sign < 0 ? 1 : 0);
  }
  return codes;
}

function capture(c: DeviceCaptures, name: string): DeviceModuleCapture {
  const m = c.modules.find((x) => x.module.name === name);
  if (!m) throw new Error(`module ${name} is not tracked in this compute thread`);
  return m;
}

/** R_d = Q_Sᵀ G_d Q_A per sequence in the transposed order (column i·out + o), padded to the module's width: [B, width]. */
function rotated(c: DeviceCaptures, m: DeviceModuleCapture, r: DeviceRotation): Tensor2D {
  const rot = tf.reshape(rotateTransposed(perSequenceGradients(c, m), r.QA, r.QS), [c.B, -1]) as Tensor2D;
  const pad = r.width - rot.shape[1];
  return pad > 0
    ? tf.pad(rot, [
        [0, 0],
        [0, pad],
      ])
    : rot;
}

/** The rows of sequence b: its token inputs [L × in] and output gradients [L × out]. */
function tokens(c: DeviceCaptures, m: DeviceModuleCapture, b: number): { a: Tensor2D; g: Tensor2D } {
  return { a: tf.slice(m.a, [b * c.L, 0], [c.L, m.a.shape[1]]), g: tf.slice(m.g, [b * c.L, 0], [c.L, m.g.shape[1]]) };
}

/**
 * R_qᵀ of sequence b from its tokens, without forming G: R_qᵀ = (A Q_A)ᵀ (G Q_S) for A [L × in] and
 * G [L × out]. For a query of L tokens this is L·(in² + out² + in·out) multiply-adds against
 * in·out·(L + in + out) for rotating G, ~4× fewer for the demo model's 30-token queries.
 */
function rotatedFromTokens(c: DeviceCaptures, m: DeviceModuleCapture, QA: Tensor2D, QS: Tensor2D, b: number): Tensor2D {
  const { a, g } = tokens(c, m, b);
  // An explicit transpose: wasm's matMul with transposeA is 10–30× slower.
  return tf.matMul(tf.transpose(tf.matMul(a, QA)), tf.matMul(g, QS));
}

/** A query's Kronecker sketch, kS × kA row-major: P_Sᵀ (R_q ⊙ V) P_A, on the subspace only for eigen. */
function kronQuery(c: DeviceCaptures, m: DeviceModuleCapture, k: DeviceKron, b: number): Tensor2D {
  const q = k.query;
  if (!q) throw new Error('this compute thread holds the index sketch for documents only');
  let x = tf.mul(rotatedFromTokens(c, m, q.QA, q.QS, b), q.VT) as Tensor2D; // [qA × qS]
  if (q.PAT && q.PS) x = tf.matMul(tf.matMul(q.PAT, x), q.PS);
  return tf.transpose(x);
}
