/**
 * The rescoring tier's rows (docs/INDEX.md, "Two tiers"): per document, each tracked module's gradient as
 * rank-r factors G_d ≈ X Vᵀ (X [out × r] orthonormal columns, V [in × r], columns by singular value,
 * largest first), int8 with a float32 scale per column. A row is a header [checksum of the prefix u32]
 * [checksum of the rest u32][row number u32][0 u32], every column's scale (f32; per module r for X, then r
 * for V), then the values in two groups: the first `prefixRank` columns of every module (X's columns one
 * after another, then V's), then the other columns alike; padded to 16 bytes. Column after column, so that
 * a group of a module is the [k × out] and [k × in] blocks the rescoring product takes, converted from int8
 * by a native typed-array copy. Rows have one size, so a document's row is found by
 * arithmetic and read alone, and a first rescoring step reads only the prefix (header, scales, first
 * group), which its own checksum covers.
 */

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
  /** Columns per module in the row's first group (a first rescoring step reads only those). */
  prefixRank: number;
  /** Bytes of the prefix: header, scales and the first group. */
  prefixBytes: number;
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

/** Factors a first, cheaper rescoring of every candidate uses (the row's prefix). */
export const RESCORE_PREFIX_RANK = 8;

/** Oversampling of the range sketch beyond the rank. */
export const RESCORE_OVERSAMPLE = 8;

export const HEADER = 16;

const valuesPerColumn = (shapes: [number, number][]) => shapes.reduce((n, [o, i]) => n + o + i, 0);

export function rescoreRowBytes(rank: number, shapes: [number, number][]): number {
  return Math.ceil((HEADER + 4 * 2 * rank * shapes.length + rank * valuesPerColumn(shapes)) / 16) * 16;
}

export function rescorePrefixBytes(rank: number, prefixRank: number, shapes: [number, number][]): number {
  return HEADER + 4 * 2 * rank * shapes.length + Math.min(prefixRank, rank) * valuesPerColumn(shapes);
}

/**
 * The K-FAC whitening's damping relative to each factor's mean eigenvalue, 0 for none: on the demo the
 * whitened factors ranked candidates no better than the raw ones at any rank (docs/INDEX.md, "Two tiers").
 */
export const RESCORE_WHITENING = 0;

export function rescoreSettings(rank: number, seed: number, shapes: [number, number][], whitening = RESCORE_WHITENING): RescoreSettings {
  const prefixRank = Math.min(RESCORE_PREFIX_RANK, rank);
  return {
    rank,
    sketchColumns: rank + RESCORE_OVERSAMPLE,
    seed,
    rowBytes: rescoreRowBytes(rank, shapes),
    prefixRank,
    prefixBytes: rescorePrefixBytes(rank, prefixRank, shapes),
    shapes,
    whitening,
  };
}

/** A 32-bit checksum of bytes [from, to) of a row, from a seed (multiply-xorshift over 32-bit words). */
function checksum(row: Uint8Array, from: number, to: number, seed: number): number {
  const words = new Uint32Array(row.buffer, row.byteOffset + from, (to - from) >>> 2);
  let h = seed;
  for (let i = 0; i < words.length; i++) {
    h = Math.imul(h ^ words[i], 0x9e3779b1);
    h ^= h >>> 15;
  }
  let tail = 0;
  for (let b = from + words.length * 4; b < to; b++) tail = (tail << 8) | row[b];
  return (Math.imul(h ^ tail, 0x85ebca6b) ^ (to - from)) >>> 0;
}

/** The prefix's checksum (row number and the prefix's bytes after the header) and the rest's. */
function checksums(row: Uint8Array, s: Pick<RescoreSettings, 'prefixBytes'>): [number, number] {
  return [checksum(row, 8, s.prefixBytes, 0x811c9dc5), checksum(row, s.prefixBytes, row.byteLength, 0x3c6ef372)];
}

/** One module's factors of a document, factor after factor: Xt [r × out] (x_k at [k·out, (k+1)·out)), Vt [r × in]. */
export interface FactorRows {
  Xt: Float32Array | Float64Array;
  Vt: Float32Array | Float64Array;
}

/**
 * Packs one document's factors (one per module) into a row, to be sealed with its row number
 * (sealRescoreRow): into `row` (s.rowBytes long, zeroed) when given, else a new one.
 */
export function packRescoreRow(factors: FactorRows[], s: RescoreSettings, row = new Uint8Array(s.rowBytes)): Uint8Array {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const values = new Int8Array(row.buffer, row.byteOffset, row.byteLength);
  const r = s.rank;
  const sides = (m: number): [Float32Array | Float64Array, number][] => [
    [factors[m].Xt, s.shapes[m][0]],
    [factors[m].Vt, s.shapes[m][1]],
  ];
  // Per module and side, each factor's 127 / max |value| (0 for a zero factor); the scales go first.
  const inverse = s.shapes.map((_, m) =>
    sides(m).map(([M, rows], side) => {
      const inv = new Float64Array(r);
      for (let k = 0; k < r; k++) {
        const max = maxAbs(M, k * rows, (k + 1) * rows);
        view.setFloat32(HEADER + 4 * 2 * r * m + 4 * (side * r + k), max / 127, true);
        inv[k] = max > 0 ? 127 / max : 0;
      }
      return inv;
    }),
  );
  let valueAt = HEADER + 4 * 2 * r * s.shapes.length;
  for (const [from, to] of [
    [0, s.prefixRank],
    [s.prefixRank, r],
  ])
    for (let m = 0; m < s.shapes.length; m++)
      sides(m).forEach(([M, rows], side) => {
        for (let k = from; k < to; k++) {
          quantize(M, k * rows, rows, inverse[m][side][k], values, valueAt);
          valueAt += rows;
        }
      });
  return row;
}

function maxAbs(M: Float32Array | Float64Array, from: number, to: number): number {
  let max = 0;
  for (let p = from; p < to; p++) max = Math.max(max, Math.abs(M[p]));
  return max;
}

/**
 * n values of M from `from`, times inv (|x·inv| ≤ 127), rounded to nearest (halves up), into `out` at
 * `at`. Branch-free: a branch on the sign of random values mispredicted half the time (3× slower).
 */
function quantize(M: Float32Array | Float64Array, from: number, n: number, inv: number, out: Int8Array, at: number): void {
  for (let p = 0; p < n; p++) out[at + p] = Math.floor(M[from + p] * inv + 0.5);
}

/** Writes a packed row's number and checksums (the builder knows where each document lands). */
export function sealRescoreRow(row: Uint8Array, rowNumber: number, s: Pick<RescoreSettings, 'prefixBytes'>): Uint8Array {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  view.setUint32(8, rowNumber, true);
  const [prefix, rest] = checksums(row, s);
  view.setUint32(0, prefix, true);
  view.setUint32(4, rest, true);
  return row;
}

/** One module's factors of a row, as float32 (X [out × r], V [in × r], row-major). */
export interface RowFactors {
  X: Float32Array;
  V: Float32Array;
}

/** Whether a row (or its prefix alone, when that is all it holds) is intact and the row expected. */
export function rowIntact(row: Uint8Array, rowNumber: number, s: Pick<RescoreSettings, 'prefixBytes' | 'rowBytes'>): boolean {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  if (view.getUint32(8, true) !== rowNumber) return false;
  if (row.byteLength === s.prefixBytes) return view.getUint32(0, true) === checksum(row, 8, s.prefixBytes, 0x811c9dc5);
  const [prefix, rest] = checksums(row, s);
  return view.getUint32(0, true) === prefix && view.getUint32(4, true) === rest;
}

/**
 * Unpacks a row (or its prefix) into float32 factors per module: the first `rank` of them (all by default;
 * at most the prefix's when only the prefix was read), [rows × rank] row-major.
 */
export function unpackRescoreRow(row: Uint8Array, s: RescoreSettings, rank = s.rank): RowFactors[] {
  const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
  const values = new Int8Array(row.buffer, row.byteOffset, row.byteLength);
  const r = s.rank;
  const k0 = Math.min(rank, row.byteLength >= s.rowBytes ? r : s.prefixRank);
  const out = s.shapes.map(([outDim, inDim]) => ({ X: new Float32Array(outDim * k0), V: new Float32Array(inDim * k0) }));
  const groups: [number, number][] = [
    [0, s.prefixRank],
    [s.prefixRank, r],
  ];
  let valueAt = HEADER + 4 * 2 * r * s.shapes.length;
  for (const [from, to] of groups) {
    const width = to - from;
    s.shapes.forEach(([outDim, inDim], m) => {
      [out[m].X, out[m].V].forEach((M, side) => {
        const rows = side === 0 ? outDim : inDim;
        const at = HEADER + 4 * 2 * r * m + 4 * side * r;
        const last = Math.min(to, k0);
        if (from < last) {
          const scales = Array.from({ length: last - from }, (_, j) => view.getFloat32(at + 4 * (from + j), true));
          for (let k = from; k < last; k++) for (let p = 0; p < rows; p++) M[p * k0 + k] = values[valueAt + (k - from) * rows + p] * scales[k - from];
        }
        valueAt += rows * width;
      });
    });
  }
  return out;
}

/**
 * One module's factors of many rows (whole rows, or prefixes: their first factors), one factor per row as
 * the rescoring product takes them: X̂ [C·k × out] and V̂ [C·k × in] unscaled (int8 values as float32,
 * copied natively block by block: the row stores each group's columns one after another), candidate c's
 * factors in rows [c·k, (c + 1)·k), and each factor's product of scales [C·k]: x_k = sx_k x̂_k, v_k = sv_k v̂_k.
 * k = the factors every row holds.
 */
export function gatherModule(rows: Uint8Array[], s: RescoreSettings, m: number): { X: Float32Array; V: Float32Array; scales: Float32Array; k: number } {
  const C = rows.length;
  const r = s.rank;
  const k = C > 0 && rows.every((row) => row.byteLength >= s.rowBytes) ? r : s.prefixRank;
  const [outDim, inDim] = s.shapes[m];
  const X = new Float32Array(C * k * outDim);
  const V = new Float32Array(C * k * inDim);
  const scales = new Float32Array(C * k);
  const groups = groupsOf(s, k);
  const scaleAt = HEADER + 4 * 2 * r * m;
  rows.forEach((row, c) => {
    const view = new DataView(row.buffer, row.byteOffset, row.byteLength);
    const values = new Int8Array(row.buffer, row.byteOffset, row.byteLength);
    for (let j = 0; j < k; j++) scales[c * k + j] = view.getFloat32(scaleAt + 4 * j, true) * view.getFloat32(scaleAt + 4 * (r + j), true);
    for (const g of groups) {
      const xAt = g.at + g.before(m);
      X.set(values.subarray(xAt, xAt + g.width * outDim), (c * k + g.from) * outDim);
      V.set(values.subarray(xAt + g.width * outDim, xAt + g.width * (outDim + inDim)), (c * k + g.from) * inDim);
    }
  });
  return { X, V, scales, k };
}

/** A group of a row's factors: factors [from, from + width), starting at byte `at` of the row. */
export interface FactorGroup {
  from: number;
  width: number;
  at: number;
  /** Bytes in the group before module m's factors (its X̂ [width × out], then V̂ [width × in]). */
  before(m: number): number;
}

/** The groups holding a row's first k factors (k: the prefix's or all). */
export function groupsOf(s: RescoreSettings, k: number): FactorGroup[] {
  const columnValues = valuesPerColumn(s.shapes);
  const starts = s.shapes.map((_, m) => s.shapes.slice(0, m).reduce((n, [o, i]) => n + o + i, 0));
  const first = HEADER + 4 * 2 * s.rank * s.shapes.length;
  const groups = [
    { from: 0, width: s.prefixRank, at: first },
    { from: s.prefixRank, width: s.rank - s.prefixRank, at: first + columnValues * s.prefixRank },
  ];
  return groups.filter((g) => g.from < k && g.width > 0).map((g) => ({ ...g, before: (m: number) => starts[m] * g.width }));
}
