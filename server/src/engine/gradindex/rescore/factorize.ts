/**
 * A document gradient's best rank-r factors from two sketches of it, on the host: Y = G Ω and Z = Gᵀ Y
 * (computed on the device from the tokens, without forming G). This is the randomised range finder of
 * Halko, Martinsson and Tropp (2011) with one extra product: with C = YᵀY and W with WᵀCW = I (C's inverse
 * Cholesky factor, or E c^-½ from its eigendecomposition with near-null directions dropped), Q = Y W is an
 * orthonormal basis of G's dominant column space and Bᵀ = Gᵀ Q = Z W. Then B Bᵀ = U s² Uᵀ gives G ≈ Q B ≈ (Q U_r)(Bᵀ U_r)ᵀ: the best rank-r approximation of
 * G within range(Q). Cost O((out + in)·ℓ²) per module and document, for ℓ = r + oversampling columns.
 */
import { symmetricEigen } from '../../linalg/eigh';
import { matmul, matmulTransA } from '../../linalg/matrix';

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
 * Y [out × ℓ] and Z [in × ℓ] row-major (Z = Gᵀ Y), to G's rank-r factors, all in float64 (a query's
 * factors; documents go through the same rotation with their products batched, rescore/reductions.ts).
 */
export function factorsFromSketches(Yin: ArrayLike<number>, Zin: ArrayLike<number>, outDim: number, inDim: number, l: number, r: number): LowRankFactors {
  const Y = new Float64Array(Yin);
  const Z = new Float64Array(Zin);
  const X = new Float64Array(outDim * r);
  const V = new Float64Array(inDim * r);
  const rot = sketchRotation(matmulTransA(Y, Y, l, outDim, l), matmulTransA(Z, Z, l, inDim, l), l, r);
  if (!rot) return { X, V, rank: 0 };
  const { T, rank } = rot;
  const Xr = matmul(Y, T, outDim, l, rank);
  const Vr = matmul(Z, T, inDim, l, rank);
  if (rank === r) return { X: Xr, V: Vr, rank };
  for (let p = 0; p < outDim; p++) for (let j = 0; j < rank; j++) X[p * r + j] = Xr[p * rank + j];
  for (let p = 0; p < inDim; p++) for (let j = 0; j < rank; j++) V[p * r + j] = Vr[p * rank + j];
  return { X, V, rank };
}

/**
 * The small step of the factorisation: from C = YᵀY and D = ZᵀZ (ℓ × ℓ, row-major), T [ℓ × rank] with
 * X = Y T and V = Z T, rank ≤ r (undefined for a zero gradient: a document of one token). C = RᵀR by
 * Cholesky when C is well conditioned (W = R⁻¹), else by its eigendecomposition, dropping near-null
 * directions (a gradient of rank < ℓ). Both Grams must be float64 sums of the sketches: W = R⁻¹ is as
 * large as C is ill-conditioned (documents of about ℓ tokens), and a float32 ZᵀZ's rounding, multiplied
 * by it, outweighed the gradient's leading directions (a demo document scored 8.5 for an exact 465).
 */
export function sketchRotation(C: Float64Array, D: Float64Array, l: number, r: number): { T: Float64Array; rank: number } | undefined {
  const whiten = choleskyInverse(C, l) ?? eigenInverseSqrt(C, l);
  if (!whiten) return undefined;
  const { W, k } = whiten;
  // B Bᵀ = Wᵀ (ZᵀZ) W = U s² Uᵀ (k × k), formed without Bᵀ = Z W itself.
  const ZW = matmul(D, W, l, l, k);
  const me = symmetricEigen(matmulTransA(W, ZW, k, l, k), k);
  const rank = Math.min(r, k);
  // X = Q U_r = Y (W U_r), V = Bᵀ U_r = Z (W U_r).
  const U = new Float64Array(k * rank);
  for (let i = 0; i < k; i++) for (let j = 0; j < rank; j++) U[i * rank + j] = me.vectors[i * k + j];
  return { T: matmul(W, U, l, k, rank), rank };
}

/** C's inverse Cholesky factor W = R⁻¹ (C = RᵀR, W upper triangular), or undefined when C is not safely positive definite. */
function choleskyInverse(C: Float64Array, l: number): { W: Float64Array; k: number } | undefined {
  const R = new Float64Array(l * l);
  let maxDiag = 0;
  for (let i = 0; i < l; i++) maxDiag = Math.max(maxDiag, C[i * l + i]);
  if (!(maxDiag > 0)) return undefined;
  for (let i = 0; i < l; i++) {
    for (let j = i; j < l; j++) {
      let s = C[i * l + j];
      for (let p = 0; p < i; p++) s -= R[p * l + i] * R[p * l + j];
      if (i === j) {
        // A pivot this small loses the digits float32 sketches carry: the eigen path drops such directions.
        if (!(s > 1e-7 * maxDiag)) return undefined;
        R[i * l + i] = Math.sqrt(s);
      } else R[i * l + j] = s / R[i * l + i];
    }
  }
  // W = R⁻¹ (upper triangular), column by column.
  const W = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    W[j * l + j] = 1 / R[j * l + j];
    for (let i = j - 1; i >= 0; i--) {
      let s = 0;
      for (let p = i + 1; p <= j; p++) s += R[i * l + p] * W[p * l + j];
      W[i * l + j] = -s / R[i * l + i];
    }
  }
  return { W, k: l };
}

/** W = E_k c_k^-½ from C = E c Eᵀ, its near-null directions dropped; undefined for C = 0. */
function eigenInverseSqrt(C: Float64Array, l: number): { W: Float64Array; k: number } | undefined {
  const ce = symmetricEigen(C, l);
  const cmax = ce.values[0];
  if (!(cmax > 0)) return undefined;
  let k = 0;
  while (k < l && ce.values[k] > RELATIVE_FLOOR * cmax) k++;
  const W = new Float64Array(l * k);
  for (let i = 0; i < l; i++) for (let j = 0; j < k; j++) W[i * k + j] = ce.vectors[i * l + j] / Math.sqrt(ce.values[j]);
  return { W, k };
}
