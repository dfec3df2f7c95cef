/**
 * Truncated SVD in float64 for the low-rank query gradients (rank 32–64 of matrices up to a few
 * thousand on a side), plain TypeScript over row-major Float64Array.
 *
 * Algorithm: randomised subspace iteration (Halko, Martinsson and Tropp 2011, Alg. 4.4) followed by
 * an exact Rayleigh–Ritz step.
 *  - Y = M Ω with a seeded Gaussian Ω [cols × ℓ], ℓ = k + oversampling; Q = orth(Y) by Householder
 *    QR; then q power iterations Q ← orth(M orth(Mᵀ Q)), re-orthonormalising every half step so that
 *    no precision is lost to the squaring of the spectrum.
 *  - Bᵀ = Mᵀ Q = Q₂ R (Householder QR), and the small ℓ×ℓ core Rᵀ is decomposed by one-sided
 *    (Hestenes) Jacobi, preconditioned by the eigenvectors of its Gram matrix so that it converges
 *    in a couple of sweeps; Jacobi keeps every singular value accurate to ε·σ₁, the small ones
 *    included (the Gram matrix alone would give only ε·σ₁²/σ).
 *  - M ≈ (Q W) Σ (Q₂ X)ᵀ, truncated to k.
 * Cost: (2q + 2) products with M or Mᵀ (2·rows·cols·ℓ flops each, in the blocked kernel) plus
 * O((rows + cols)·ℓ² + ℓ³). When ℓ would reach min(rows, cols), or half of it for a smaller side of
 * at most 256, the decomposition is computed exactly instead (QR of the matrix, then the same
 * core) — no randomness.
 *
 * Accuracy: the exact path is backward stable (‖M − UΣVᵀ‖ ≈ ε‖M‖ at full rank). The randomised path
 * is exact for matrices of rank ≤ ℓ and otherwise within a factor (1 + small) of the Eckart–Young
 * optimum √(Σ_{i>k} σᵢ²); the factor shrinks geometrically with q as (σ_{ℓ+1}/σ_k)^(2q+1). With the
 * defaults (ℓ = k + max(10, k/4), q = 2) the Frobenius error of the rank-k approximation is within
 * 1e-6 relative of optimal on decaying spectra and within a few per cent on flat random matrices
 * (see test/unit/linalg.test.ts). Results are deterministic (fixed seed).
 */
import { gemmAcc } from './matrix';
import { symmetricEigen } from './eigh';
import { Rng } from '../util/random';

const EPS = 2 ** -52;

/** Matrices whose smaller side is at most this (and at most 2ℓ) are decomposed exactly. */
const EXACT_MAX = 256;

export interface TruncatedSvd {
  /** rows×k, orthonormal columns (left singular vectors). */
  u: Float64Array;
  /** k singular values, largest first. */
  s: Float64Array;
  /** cols×k, orthonormal columns (right singular vectors); m ≈ u diag(s) vᵀ. */
  v: Float64Array;
  /** k = min(rank, rows, cols). */
  k: number;
}

export interface TruncatedSvdOptions {
  /** Extra random directions beyond k (default max(10, ⌈k/4⌉)). */
  oversample?: number;
  /** Power (subspace) iterations (default 2). */
  powerIterations?: number;
  /** Seed of the random test matrix (default 0). */
  seed?: number;
}

/**
 * The best rank-k approximation m ≈ u diag(s) vᵀ of the rows×cols matrix m (row-major), with
 * k = min(rank, rows, cols) and singular values in descending order. Each column of u has its
 * largest-magnitude entry positive (v's columns follow). See the file comment for the algorithm.
 */
export function truncatedSvd(m: ArrayLike<number>, rows: number, cols: number, rank: number, options: TruncatedSvdOptions = {}): TruncatedSvd {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`truncatedSvd: bad shape ${rows}×${cols}`);
  }
  if (m.length !== rows * cols) throw new RangeError(`truncatedSvd: ${m.length} entries for ${rows}×${cols}`);
  const k = Math.max(0, Math.min(Math.floor(rank), rows, cols));
  if (k === 0) return { u: new Float64Array(0), s: new Float64Array(0), v: new Float64Array(0), k: 0 };
  const a = m instanceof Float64Array ? m : Float64Array.from(m);
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) throw new RangeError(`truncatedSvd: non-finite entry at ${i}`);
  }
  const mn = Math.min(rows, cols);
  const oversample = options.oversample ?? Math.max(10, Math.ceil(k / 4));
  const l = Math.min(mn, k + Math.max(0, Math.floor(oversample)));
  const q = Math.max(0, Math.floor(options.powerIterations ?? 2));

  let result: { u: Float64Array; s: Float64Array; v: Float64Array };
  if (l >= mn || (mn <= EXACT_MAX && 2 * l >= mn)) result = exactSvd(a, rows, cols, k);
  else result = randomizedSvd(a, rows, cols, k, l, q, options.seed ?? 0);
  normaliseSigns(result.u, result.v, rows, cols, k);
  return { ...result, k };
}

/** Exact: the SVD of the whole matrix (through its QR and the small core), truncated to k. */
function exactSvd(a: Float64Array, rows: number, cols: number, k: number): { u: Float64Array; s: Float64Array; v: Float64Array } {
  if (rows >= cols) {
    // A = Q R, R = W Σ Xᵀ ⇒ A = (Q W) Σ Xᵀ. coreSvd wants G with A-like orientation: G = R.
    const { q, r } = householderQr(a, rows, cols);
    const core = coreSvd(r, cols);
    return assemble(q, rows, core.w, core.s, core.x, null, cols, k);
  }
  // Aᵀ = Q R ⇒ A = Rᵀ Qᵀ; Rᵀ = W Σ Xᵀ ⇒ A = W Σ (Q X)ᵀ.
  const { q, r } = householderQr(transposeOf(a, rows, cols), cols, rows);
  const core = coreSvd(transposeOf(r, rows, rows), rows);
  return assemble(null, rows, core.w, core.s, core.x, q, rows, k);
}

function randomizedSvd(
  a: Float64Array,
  rows: number,
  cols: number,
  k: number,
  l: number,
  q: number,
  seed: number,
): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const rng = new Rng(seed, 0x5bd1e995);
  const omega = new Float64Array(cols * l);
  for (let i = 0; i < omega.length; i++) omega[i] = rng.normal();
  let y = new Float64Array(rows * l);
  gemmAcc(y, a, omega, rows, cols, l); // Y = A Ω
  let Q = householderQr(y, rows, l).q;
  for (let it = 0; it < q; it++) {
    const zt = new Float64Array(cols * l);
    gemmAcc(zt, a, Q, cols, rows, l, true); // Aᵀ Q
    const z = householderQr(zt, cols, l).q;
    y = new Float64Array(rows * l);
    gemmAcc(y, a, z, rows, cols, l); // A Z
    Q = householderQr(y, rows, l).q;
  }
  // Bᵀ = Aᵀ Q = Q₂ R; B = Rᵀ Q₂ᵀ; Rᵀ = W Σ Xᵀ ⇒ A ≈ Q B = (Q W) Σ (Q₂ X)ᵀ.
  const bt = new Float64Array(cols * l);
  gemmAcc(bt, a, Q, cols, rows, l, true);
  const { q: q2, r } = householderQr(bt, cols, l);
  const core = coreSvd(transposeOf(r, l, l), l);
  return assemble(Q, rows, core.w, core.s, core.x, q2, l, k);
}

/**
 * u = left·W[:, :k] (or W itself when left is null), v = right·X[:, :k] (or X), s = Σ[:k]; W and X
 * are l×l with the singular vectors as columns, already sorted.
 */
function assemble(
  left: Float64Array | null,
  rows: number,
  w: Float64Array,
  s: Float64Array,
  x: Float64Array,
  right: Float64Array | null,
  l: number,
  k: number,
): { u: Float64Array; s: Float64Array; v: Float64Array } {
  const wk = firstColumns(w, l, l, k);
  const xk = firstColumns(x, l, l, k);
  let u = wk;
  if (left) {
    u = new Float64Array(rows * k);
    gemmAcc(u, left, wk, rows, l, k);
  }
  let v = xk;
  if (right) {
    const cols = right.length / l;
    v = new Float64Array(cols * k);
    gemmAcc(v, right, xk, cols, l, k);
  }
  return { u, s: s.slice(0, k), v };
}

function firstColumns(a: Float64Array, rows: number, cols: number, k: number): Float64Array {
  if (k === cols) return a;
  const out = new Float64Array(rows * k);
  for (let r = 0; r < rows; r++) for (let j = 0; j < k; j++) out[r * k + j] = a[r * cols + j];
  return out;
}

function transposeOf(a: Float64Array, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

/**
 * Householder QR of the m×l matrix a (m ≥ l, row-major, not modified): a = Q R with Q m×l having
 * orthonormal columns (even when a is rank-deficient) and R l×l upper triangular. Works on the
 * transpose so that every column operation is a contiguous dot product or axpy of length m.
 */
export function householderQr(a: Float64Array, m: number, l: number): { q: Float64Array; r: Float64Array } {
  if (m < l) throw new RangeError(`householderQr: ${m}×${l} is wide`);
  const h = transposeOf(a, m, l); // row c = column c of a
  const tau = new Float64Array(l);
  const r = new Float64Array(l * l);
  for (let j = 0; j < l; j++) {
    // Reflector for column j, rows j..m−1 (dlarfg, scaled against under/overflow); v_j = 1.
    const cj = j * m;
    const alpha = h[cj + j];
    let xmax = 0;
    for (let i = j + 1; i < m; i++) xmax = Math.max(xmax, Math.abs(h[cj + i]));
    let beta = alpha;
    let t = 0;
    if (xmax !== 0) {
      const am = Math.max(xmax, Math.abs(alpha));
      const inv = 1 / am;
      let ss = 0;
      for (let i = j + 1; i < m; i++) {
        const x = h[cj + i] * inv;
        ss += x * x;
      }
      const al = alpha * inv;
      const b = -(al >= 0 ? 1 : -1) * Math.hypot(al, Math.sqrt(ss));
      const scal = inv / (al - b);
      for (let i = j + 1; i < m; i++) h[cj + i] *= scal;
      t = (b - al) / b;
      beta = b * am;
    }
    tau[j] = t;
    h[cj + j] = beta;
    if (t === 0) continue;
    reflectRows(h, cj, h, j + 1, l, j, m, t);
  }
  for (let i = 0; i < l; i++) for (let j = i; j < l; j++) r[i * l + j] = h[j * m + i];
  // Q = H_0 … H_{l−1} [I; 0], accumulated backwards (rows of qt are the columns of Q).
  const qt = new Float64Array(l * m);
  for (let j = 0; j < l; j++) qt[j * m + j] = 1;
  for (let j = l - 1; j >= 0; j--) {
    const t = tau[j];
    if (t === 0) continue;
    reflectRows(h, j * m, qt, j, l, j, m, t);
  }
  return { q: transposeOf(qt, l, m), r };
}

/**
 * Applies the reflector I − τ v vᵀ, v = (1, v[vOff+j+1 .. vOff+m)), to rows c0..c1−1 of x (each of
 * length m, entries j..m−1): x_c −= τ (vᵀx_c) v. Rows are taken four at a time to share the loads
 * of v.
 */
function reflectRows(v: Float64Array, vOff: number, x: Float64Array, c0: number, c1: number, j: number, m: number, t: number): void {
  let c = c0;
  for (; c + 3 < c1; c += 4) {
    const o0 = c * m;
    const o1 = o0 + m;
    const o2 = o1 + m;
    const o3 = o2 + m;
    let d0 = x[o0 + j];
    let d1 = x[o1 + j];
    let d2 = x[o2 + j];
    let d3 = x[o3 + j];
    for (let i = j + 1; i < m; i++) {
      const vi = v[vOff + i];
      d0 += vi * x[o0 + i];
      d1 += vi * x[o1 + i];
      d2 += vi * x[o2 + i];
      d3 += vi * x[o3 + i];
    }
    const f0 = t * d0;
    const f1 = t * d1;
    const f2 = t * d2;
    const f3 = t * d3;
    x[o0 + j] -= f0;
    x[o1 + j] -= f1;
    x[o2 + j] -= f2;
    x[o3 + j] -= f3;
    for (let i = j + 1; i < m; i++) {
      const vi = v[vOff + i];
      x[o0 + i] -= f0 * vi;
      x[o1 + i] -= f1 * vi;
      x[o2 + i] -= f2 * vi;
      x[o3 + i] -= f3 * vi;
    }
  }
  for (; c < c1; c++) {
    const o = c * m;
    let d = x[o + j];
    for (let i = j + 1; i < m; i++) d += v[vOff + i] * x[o + i];
    const f = t * d;
    if (f === 0) continue;
    x[o + j] -= f;
    for (let i = j + 1; i < m; i++) x[o + i] -= f * v[vOff + i];
  }
}

/**
 * SVD of the small square matrix g (n×n): g = W diag(s) Xᵀ, s descending, W and X with the
 * singular vectors as columns (row-major n×n). Preconditioned one-sided Jacobi: the eigenvectors
 * W₀ of g gᵀ (symmetricEigen) make the rows of W₀ᵀ g nearly orthogonal, so that Jacobi on them
 * converges in a couple of sweeps; Jacobi then restores full accuracy for the small singular values
 * (which the Gram matrix alone would only give to ε·σ₁²/σ).
 */
function coreSvd(g: Float64Array, n: number): { w: Float64Array; s: Float64Array; x: Float64Array } {
  const ggt = new Float64Array(n * n);
  gemmAcc(ggt, g, transposeOf(g, n, n), n, n, n);
  const w0 = symmetricEigen(ggt, n).vectors;
  const g1 = new Float64Array(n * n);
  gemmAcc(g1, w0, g, n, n, n, true); // W₀ᵀ g
  const { w: w1, s, x } = jacobiSvd(g1, n);
  const w = new Float64Array(n * n);
  gemmAcc(w, w0, w1, n, n, n);
  return { w, s, x };
}

/**
 * One-sided (Hestenes) Jacobi: rotations from the left, Jᵀ g, until its rows are mutually
 * orthogonal (|g_p·g_q| ≤ ε‖g_p‖‖g_q‖); then row i = σᵢ xᵢᵀ and the accumulated rotations are W.
 */
function jacobiSvd(g0: Float64Array, n: number): { w: Float64Array; s: Float64Array; x: Float64Array } {
  const g = Float64Array.from(g0);
  const wt = new Float64Array(n * n); // Wᵀ: rows rotated along with g
  for (let i = 0; i < n; i++) wt[i * n + i] = 1;
  const tol = EPS * Math.max(1, Math.sqrt(n));
  const norms = new Float64Array(n);
  for (let i = 0; i < n; i++) norms[i] = dotRows(g, i, i, n);
  for (let sweep = 0; sweep < 80; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let qi = p + 1; qi < n; qi++) {
        const alpha = norms[p];
        const beta = norms[qi];
        if (alpha === 0 || beta === 0) continue;
        const gamma = dotRows(g, p, qi, n);
        if (Math.abs(gamma) <= tol * Math.sqrt(alpha) * Math.sqrt(beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t);
        const s = c * t;
        rotateRows(g, p, qi, n, c, s);
        rotateRows(wt, p, qi, n, c, s);
        norms[p] = dotRows(g, p, p, n);
        norms[qi] = dotRows(g, qi, qi, n);
      }
    }
    if (!rotated) break;
  }
  const sig = new Float64Array(n);
  for (let i = 0; i < n; i++) sig[i] = Math.sqrt(dotRows(g, i, i, n));
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => sig[q] - sig[p] || p - q);
  const s = new Float64Array(n);
  const w = new Float64Array(n * n);
  const xt = new Float64Array(n * n); // rows = right singular vectors
  for (let c = 0; c < n; c++) {
    const i = order[c];
    s[c] = sig[i];
    for (let r = 0; r < n; r++) w[r * n + c] = wt[i * n + r];
    const inv = sig[i] > 0 ? 1 / sig[i] : 0;
    for (let j = 0; j < n; j++) xt[c * n + j] = g[i * n + j] * inv;
  }
  completeRows(xt, n, s);
  return { w, s, x: transposeOf(xt, n, n) };
}

function dotRows(g: Float64Array, p: number, q: number, n: number): number {
  const a = p * n;
  const b = q * n;
  let s = 0;
  for (let j = 0; j < n; j++) s += g[a + j] * g[b + j];
  return s;
}

/** (row p, row q) ← (c·p − s·q, s·p + c·q). */
function rotateRows(g: Float64Array, p: number, q: number, n: number, c: number, s: number): void {
  const a = p * n;
  const b = q * n;
  for (let j = 0; j < n; j++) {
    const x = g[a + j];
    const y = g[b + j];
    g[a + j] = c * x - s * y;
    g[b + j] = s * x + c * y;
  }
}

/**
 * Rows of xt for (numerically) zero singular values carry no direction: replaces them by an
 * orthonormal completion of the others. Each new row starts from the unit vector e_i least
 * represented in the span so far (largest 1 − Σ_j x_j[i]², at least (n − g)/n), orthogonalised
 * twice by Gram–Schmidt.
 */
function completeRows(xt: Float64Array, n: number, s: Float64Array): void {
  const smax = s[0];
  const good: number[] = [];
  const bad: number[] = [];
  for (let i = 0; i < n; i++) (s[i] > 0 && s[i] > smax * 1e-280 ? good : bad).push(i);
  if (bad.length === 0) return;
  const resid = new Float64Array(n).fill(1); // 1 − Σ_good x_j[i]²
  for (const j of good) for (let c = 0; c < n; c++) resid[c] -= xt[j * n + c] ** 2;
  const cand = new Float64Array(n);
  for (const i of bad) {
    let pick = 0;
    for (let c = 1; c < n; c++) if (resid[c] > resid[pick]) pick = c;
    cand.fill(0);
    cand[pick] = 1;
    for (let pass = 0; pass < 2; pass++) {
      for (const j of good) {
        let d = 0;
        for (let c = 0; c < n; c++) d += xt[j * n + c] * cand[c];
        for (let c = 0; c < n; c++) cand[c] -= d * xt[j * n + c];
      }
    }
    let nn = 0;
    for (let c = 0; c < n; c++) nn += cand[c] * cand[c];
    const inv = 1 / Math.sqrt(nn);
    for (let c = 0; c < n; c++) {
      const x = cand[c] * inv;
      xt[i * n + c] = x;
      resid[c] -= x * x;
    }
    s[i] = 0;
    good.push(i);
  }
}

/** Flips each singular pair so that the largest-magnitude entry of u's column is positive. */
function normaliseSigns(u: Float64Array, v: Float64Array, rows: number, cols: number, k: number): void {
  for (let j = 0; j < k; j++) {
    let best = 0;
    let sign = 1;
    for (let r = 0; r < rows; r++) {
      const x = u[r * k + j];
      if (Math.abs(x) > best) {
        best = Math.abs(x);
        sign = x < 0 ? -1 : 1;
      }
    }
    if (sign > 0) continue;
    for (let r = 0; r < rows; r++) u[r * k + j] = -u[r * k + j];
    for (let r = 0; r < cols; r++) v[r * k + j] = -v[r * k + j];
  }
}
