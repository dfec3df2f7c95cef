/**
 * The rescoring tier's rows (docs/INDEX.md, "Two tiers"): per document, each tracked module's gradient as
 * rank-r factors G_d ≈ X Vᵀ (X [out × r] orthonormal columns, V [in × r]), int8 with a float32 scale per
 * column. A row is [checksum u32][row number u32][scales f32: per module r for X, then r for V][int8: per
 * module X row-major, then V row-major], padded to 16 bytes. Rows have one size, so a document's row is
 * found by arithmetic and read alone: a query reads the rows of its few hundred candidates, not the tier.
 */
import type { LowRankFactors } from './factorize';

/** The rescoring tier as the manifest records it. */
export interface RescoreSettings {
  /** Factors kept per module. */
  rank: number;
  /** Columns of the range sketch Y = G Ω (rank + oversampling). */
  sketchColumns: number;
  /** Seed of Ω. */
  seed: number;
  /** Bytes of one row. */
  rowBytes: number;
  /** [out, in] per tracked module, in the order of the index's modules. */
  shapes: [number, number][];
  /**
   * The factors approximate the K-FAC-whitened gradient D_S^-½ Q_Sᵀ G Q_A D_A^-½ (D = e + this × mean e per
   * factor), whose best rank-r approximation is the one that keeps most of a whitened query's score; 0:
   * the raw gradient G.
   */
  whitening: number;
}

export interface RescoreChunk {
  file: string;
  first: number;
  count: number;
}

/** Default factors per module: measured in docs/INDEX.md ("Two tiers"). */
export const DEFAULT_RESCORE_RANK = 32;

/** Factors a first, cheaper rescoring of every candidate uses (a prefix: factors are stored by singular value, largest first). */
export const RESCORE_PREFIX_RANK = 8;

/** Oversampling of the range sketch beyond the rank. */
export const RESCORE_OVERSAMPLE = 8;

const HEADER = 8;

export function rescoreRowBytes(rank: number, shapes: [number, number][]): number {
  const values = shapes.reduce((n, [o, i]) => n + rank * (o + i), 0);
  return Math.ceil((HEADER + 4 * 2 * rank * shapes.length + values) / 16) * 16;
}

/**
 * The K-FAC whitening's damping relative to each factor's mean eigenvalue, 0 for none: on the demo the
 * whitened factors ranked candidates no better than the raw ones at any rank (docs/INDEX.md, "Two tiers").
 */
export const RESCORE_WHITENING = 0;

export function rescoreSettings(rank: number, seed: number, shapes: [number, number][], whitening = RESCORE_WHITENING): RescoreSettings {
  return { rank, sketchColumns: rank + RESCORE_OVERSAMPLE, seed, rowBytes: rescoreRowBytes(rank, shapes), shapes, whitening };
}

/** A 32-bit checksum of bytes [4, end) of a row (multiply-xorshift over 32-bit words). */
export function rowChecksum(row: Uint8Array): number {
  const words = new Uint32Array(row.buffer, row.byteOffset + 4, (row.byteLength - 4) >>> 2);
  let h = 0x811c9dc5;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x9e3779b1);
    h ^= h >>> 15;
  }
  return h >>> 0;
}

/** Packs one document's factors (one per module) into a row, to be sealed with its row number (sealRescoreRow). */
export function packRescoreRow(factors: LowRankFactors[], s: RescoreSettings): Uint8Array {
  const row = new Uint8Array(s.rowBytes);
  const view = new DataView(row.buffer);
  const r = s.rank;
  let scaleAt = HEADER;
  let valueAt = HEADER + 4 * 2 * r * s.shapes.length;
  const put = (M: Float64Array, rows: number) => {
    for (let k = 0; k < r; k++) {
      let max = 0;
      for (let p = 0; p < rows; p++) max = Math.max(max, Math.abs(M[p * r + k]));
      view.setFloat32(scaleAt + 4 * k, max / 127, true);
      const inv = max > 0 ? 127 / max : 0;
      for (let p = 0; p < rows; p++) row[valueAt + p * r + k] = Math.round(M[p * r + k] * inv) & 0xff;
    }
    scaleAt += 4 * r;
    valueAt += rows * r;
  };
  s.shapes.forEach(([outDim, inDim], m) => {
    put(factors[m].X, outDim);
    put(factors[m].V, inDim);
  });
  return row;
}

/** Writes a packed row's number and checksum (the builder knows where each document lands). */
export function sealRescoreRow(row: Uint8Array, rowNumber: number): Uint8Array {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  view.setUint32(4, rowNumber, true);
  view.setUint32(0, rowChecksum(row), true);
  return row;
}

/** One module's factors of a row, as float32 (X [out × r], V [in × r], row-major). */
export interface RowFactors {
  X: Float32Array;
  V: Float32Array;
}

/** Whether a row's checksum holds and it is the row expected. */
export function rowIntact(row: Uint8Array, rowNumber: number): boolean {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  return view.getUint32(0, true) === rowChecksum(row) && view.getUint32(4, true) === rowNumber;
}

/** Unpacks a row into float32 factors per module: the first `rank` of them (all by default), [rows × rank]. */
export function unpackRescoreRow(row: Uint8Array, s: RescoreSettings, rank = s.rank): RowFactors[] {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const values = new Int8Array(row.buffer, row.byteOffset, row.byteLength);
  const r = s.rank;
  const k0 = Math.min(rank, r);
  let scaleAt = HEADER;
  let valueAt = HEADER + 4 * 2 * r * s.shapes.length;
  const take = (rows: number) => {
    const out = new Float32Array(rows * k0);
    const scales = Array.from({ length: k0 }, (_, k) => view.getFloat32(scaleAt + 4 * k, true));
    for (let p = 0; p < rows; p++) for (let k = 0; k < k0; k++) out[p * k0 + k] = values[valueAt + p * r + k] * scales[k];
    scaleAt += 4 * r;
    valueAt += rows * r;
    return out;
  };
  return s.shapes.map(([outDim, inDim]) => ({ X: take(outDim), V: take(inDim) }));
}
