/**
 * A document gradient's best rank-r factors from two sketches of it, on the host: Y = G Ω and Z = Gᵀ Y
 * (computed on the device from the tokens, without forming G). This is the randomised range finder of
 * Halko, Martinsson and Tropp (2011) with one extra product: with C = YᵀY = E c Eᵀ and W = E c^-½ (its
 * near-null directions dropped), Q = Y W is an orthonormal basis of G's dominant column space and
 * Bᵀ = Gᵀ Q = Z W. Then B Bᵀ = U s² Uᵀ gives G ≈ Q B ≈ (Q U_r)(Bᵀ U_r)ᵀ: the best rank-r approximation of
 * G within range(Q). Cost O((out + in)·ℓ²) per module and document, for ℓ = r + oversampling columns.
 */
import { symmetricEigen } from '../../linalg/eigh';

/** Rank-r factors of G ≈ X Vᵀ: X [out × r] with orthonormal columns, V [in × r] (column k has norm σ_k). */
export interface LowRankFactors {
  /** Row-major [out × r]. */
  X: Float64Array;
  /** Row-major [in × r]. */
  V: Float64Array;
  /** Columns actually filled (≤ r: a gradient of lower rank leaves the rest zero). */
  rank: number;
}

/** Directions of C whose eigenvalue is below this share of the largest are noise (float32 sketches). */
const RELATIVE_FLOOR = 1e-9;

/**
 * Y [out × ℓ] and Z [in × ℓ] row-major (Z = Gᵀ Y), to G's rank-r factors. A zero gradient (a document of
 * one token) gives zero factors.
 */
export function factorsFromSketches(Y: ArrayLike<number>, Z: ArrayLike<number>, outDim: number, inDim: number, l: number, r: number): LowRankFactors {
  const X = new Float64Array(outDim * r);
  const V = new Float64Array(inDim * r);
  // C = YᵀY (ℓ × ℓ).
  const C = gram(Y, outDim, l);
  const ce = symmetricEigen(C, l);
  const cmax = ce.values[0];
  if (!(cmax > 0)) return { X, V, rank: 0 };
  let k = 0;
  while (k < l && ce.values[k] > RELATIVE_FLOOR * cmax) k++;
  // W = E_k c_k^-½ (ℓ × k).
  const W = new Float64Array(l * k);
  for (let i = 0; i < l; i++) for (let j = 0; j < k; j++) W[i * k + j] = ce.vectors[i * l + j] / Math.sqrt(ce.values[j]);
  const Q = times(Y, W, outDim, l, k); // [out × k], orthonormal columns
  const Bt = times(Z, W, inDim, l, k); // [in × k]
  const M = gram(Bt, inDim, k); // B Bᵀ (k × k)
  const me = symmetricEigen(M, k);
  const rank = Math.min(r, k);
  // X = Q U_r, V = Bᵀ U_r.
  for (let o = 0; o < outDim; o++) {
    for (let j = 0; j < rank; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += Q[o * k + i] * me.vectors[i * k + j];
      X[o * r + j] = s;
    }
  }
  for (let a = 0; a < inDim; a++) {
    for (let j = 0; j < rank; j++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += Bt[a * k + i] * me.vectors[i * k + j];
      V[a * r + j] = s;
    }
  }
  return { X, V, rank };
}

/** Mᵀ M for M [rows × cols] row-major. */
function gram(M: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const out = new Float64Array(cols * cols);
  for (let p = 0; p < rows; p++) {
    const at = p * cols;
    for (let i = 0; i < cols; i++) {
      const x = M[at + i];
      if (x === 0) continue;
      for (let j = 0; j <= i; j++) out[i * cols + j] += x * M[at + j];
    }
  }
  for (let i = 0; i < cols; i++) for (let j = 0; j < i; j++) out[j * cols + i] = out[i * cols + j];
  return out;
}

/** A [rows × inner] row-major times B [inner × cols] row-major. */
function times(A: ArrayLike<number>, B: Float64Array, rows: number, inner: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let p = 0; p < rows; p++) {
    for (let i = 0; i < inner; i++) {
      const x = A[p * inner + i];
      if (x === 0) continue;
      for (let j = 0; j < cols; j++) out[p * cols + j] += x * B[i * cols + j];
    }
  }
  return out;
}
