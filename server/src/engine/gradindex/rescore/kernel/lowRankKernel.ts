/**
 * The rescoring tier's two steps on the CPU (lowRank.wat): packed rows' int8 factors against a query's
 * low-rank factors, read where they lie in the rows. Through tfjs the same step converted every factor to
 * float32 on the host, copied it into tfjs's heap and ran two narrow products per module: ~200 ms for a
 * hover's ~1,100 prefixes, most of it copies (docs/INDEX.md, "Two tiers").
 */
import type { RescoreSettings } from '../layout';
import { groupsOf, HEADER } from '../layout';
import { LOW_RANK_WASM_BASE64 } from './lowRankWasm';
import { align16, growingKernel } from '../../../util/wasmInstance';

interface LowRankExports {
  lowRank(
    C: number,
    stride: number,
    x: number,
    k: number,
    out: number,
    inDim: number,
    scales: number,
    r: number,
    bt: number,
    at: number,
    qs: number,
    q4: number,
    res: number,
  ): void;
}

/** One module's query factors P̂ᵀ ≈ A Bᵀ, quantised for the kernel. */
export interface QuantizedQueryModule {
  /** Bᵀ [q × outP] and Aᵀ [q × inP], int16, each row zero-padded to a multiple of 8; q a multiple of 4. */
  bt: Int16Array;
  at: Int16Array;
  /** Per factor i, the product of b_i's and a_i's scales. */
  scales: Float32Array;
  q: number;
}

const pad8 = (n: number) => Math.ceil(n / 8) * 8;

/** Column i of M [rows × q] (row-major), scaled to int16, into row i of the result [q4 × rowsP]; and the scales. */
function quantizeColumns(M: ArrayLike<number>, rows: number, q: number, q4: number): { values: Int16Array; scales: Float64Array } {
  const rowsP = pad8(rows);
  const values = new Int16Array(q4 * rowsP);
  const scales = new Float64Array(q4);
  for (let i = 0; i < q; i++) {
    let max = 0;
    for (let p = 0; p < rows; p++) max = Math.max(max, Math.abs(M[p * q + i]));
    if (max === 0) continue;
    scales[i] = max / 32767;
    const inv = 32767 / max;
    for (let p = 0; p < rows; p++) values[i * rowsP + p] = Math.round(M[p * q + i] * inv);
  }
  return { values, scales };
}

/**
 * A query's factors for the kernel: B [out × q] and A [in × q] row-major (P̂ᵀ ≈ A Bᵀ). int16 with a scale
 * per factor: their rounding (1.5e-5 of each factor's largest value) is far below the rows' int8 rounding.
 */
export function quantizeQueryModule(B: ArrayLike<number>, A: ArrayLike<number>, outDim: number, inDim: number, q: number): QuantizedQueryModule {
  const q4 = Math.ceil(q / 4) * 4;
  const b = quantizeColumns(B, outDim, q, q4);
  const a = quantizeColumns(A, inDim, q, q4);
  return { bt: b.values, at: a.values, scales: Float32Array.from(b.scales, (s, i) => s * a.scales[i]), q: q4 };
}

const instance = growingKernel<LowRankExports>(LOW_RANK_WASM_BASE64);

/**
 * Each row's Σ_m Σ_k (x_kᵀ B_m)(v_kᵀ A_m) over the factors it holds (whole rows or prefixes, all of one size):
 * its low-rank score against the query P̂_mᵀ ≈ A_m B_mᵀ.
 */
export function lowRankScores(rows: Uint8Array[], s: RescoreSettings, query: QuantizedQueryModule[]): Float32Array {
  const C = rows.length;
  const size = rows[0]?.byteLength ?? 0;
  const k = size >= s.rowBytes ? s.rank : s.prefixRank;
  const stride = align16(size);
  // The kernel reads whole blocks of 8 values: up to 7 bytes past a row's last factor.
  const rowsEnd = C * stride + 16;
  const queryBytes = query.reduce((n, m) => n + align16(2 * m.bt.length) + align16(2 * m.at.length) + align16(4 * m.scales.length), 0);
  const resAt = rowsEnd + queryBytes;
  const { memory, exports } = instance(resAt + 4 * C);
  const heap = new Uint8Array(memory.buffer);
  rows.forEach((row, c) => {
    if (row.byteLength !== size) throw new Error(`rows to rescore differ in size (${row.byteLength} and ${size} bytes)`);
    heap.set(row, c * stride);
  });
  new Float32Array(memory.buffer, resAt, C).fill(0);
  let at = rowsEnd;
  const place = (values: Int16Array | Float32Array) => {
    const where = at;
    if (values instanceof Int16Array) new Int16Array(memory.buffer, where, values.length).set(values);
    else new Float32Array(memory.buffer, where, values.length).set(values);
    at += align16(values.byteLength);
    return where;
  };
  const where = query.map((m) => ({ bt: place(m.bt), at: place(m.at), qs: place(m.scales), q4: m.q / 4 }));
  const groups = groupsOf(s, k);
  s.shapes.forEach(([outDim, inDim], m) => {
    const scaleAt = HEADER + 4 * 2 * s.rank * m;
    const w = where[m];
    for (const g of groups) exports.lowRank(C, stride, g.at + g.before(m), g.width, outDim, inDim, scaleAt + 4 * g.from, s.rank, w.bt, w.at, w.qs, w.q4, resAt);
  });
  return new Float32Array(memory.buffer, resAt, C).slice();
}
