/**
 * Dense float64 matrix helpers for the EK-FAC code: plain TypeScript over row-major Float64Array.
 *
 * Everything funnels into one cache-blocked kernel, {@link gemmAcc} (C += op(A)·B), which updates
 * four rows of C from four rows of B per pass over a row segment (i-k-j order, 4×4 register
 * block). On V8 this runs at roughly 5 GFLOP/s per core, about 5× a naive i-j-k triple loop.
 *
 * Conventions: an m×n matrix is m·n numbers, element (i, j) at [i·n + j]. Eigenvector matrices
 * hold the eigenvectors as COLUMNS (M = Q diag(e) Qᵀ), as returned by `symmetricEigen`.
 */

/** Rows of B (the shared dimension) per cache block. */
const K_BLOCK = 256;
/** Columns of B and C per cache block: a K_BLOCK × N_BLOCK tile of B is 1 MiB. */
const N_BLOCK = 512;

/**
 * C[m×n] += op(A)·B[k×n], all row-major. op(A) is A[m×k] (transA false) or Aᵀ with A[k×m]
 * (transA true). Offsets and leading dimensions (row strides) allow working on sub-blocks:
 * element (i, j) of C is c[cOff + i·ldc + j], (p, j) of B is b[bOff + p·ldb + j], and (i, p) of
 * op(A) is a[aOff + i·lda + p] (or a[aOff + p·lda + i] when transposed).
 */
export function gemmAcc(
  c: Float64Array,
  a: Float64Array,
  b: Float64Array,
  m: number,
  k: number,
  n: number,
  transA = false,
  { aOff = 0, bOff = 0, cOff = 0, lda = transA ? m : k, ldb = n, ldc = n }: GemmLayout = {},
): void {
  if (m <= 0 || n <= 0 || k <= 0) return;
  // Element (i, p) of op(A) is a[aOff + i*ars + p*acs].
  const ars = transA ? 1 : lda;
  const acs = transA ? lda : 1;
  for (let p0 = 0; p0 < k; p0 += K_BLOCK) {
    const p1 = Math.min(k, p0 + K_BLOCK);
    for (let j0 = 0; j0 < n; j0 += N_BLOCK) {
      const j1 = Math.min(n, j0 + N_BLOCK);
      let i = 0;
      for (; i + 3 < m; i += 4) {
        const c0 = cOff + i * ldc;
        const c1 = c0 + ldc;
        const c2 = c1 + ldc;
        const c3 = c2 + ldc;
        const r0 = aOff + i * ars;
        const r1 = r0 + ars;
        const r2 = r1 + ars;
        const r3 = r2 + ars;
        let p = p0;
        for (; p + 3 < p1; p += 4) {
          const q0 = p * acs;
          const q1 = q0 + acs;
          const q2 = q1 + acs;
          const q3 = q2 + acs;
          const a00 = a[r0 + q0],
            a01 = a[r0 + q1],
            a02 = a[r0 + q2],
            a03 = a[r0 + q3];
          const a10 = a[r1 + q0],
            a11 = a[r1 + q1],
            a12 = a[r1 + q2],
            a13 = a[r1 + q3];
          const a20 = a[r2 + q0],
            a21 = a[r2 + q1],
            a22 = a[r2 + q2],
            a23 = a[r2 + q3];
          const a30 = a[r3 + q0],
            a31 = a[r3 + q1],
            a32 = a[r3 + q2],
            a33 = a[r3 + q3];
          const b0 = bOff + p * ldb;
          const b1 = b0 + ldb;
          const b2 = b1 + ldb;
          const b3 = b2 + ldb;
          for (let j = j0; j < j1; j++) {
            const x0 = b[b0 + j],
              x1 = b[b1 + j],
              x2 = b[b2 + j],
              x3 = b[b3 + j];
            c[c0 + j] += a00 * x0 + a01 * x1 + a02 * x2 + a03 * x3;
            c[c1 + j] += a10 * x0 + a11 * x1 + a12 * x2 + a13 * x3;
            c[c2 + j] += a20 * x0 + a21 * x1 + a22 * x2 + a23 * x3;
            c[c3 + j] += a30 * x0 + a31 * x1 + a32 * x2 + a33 * x3;
          }
        }
        for (; p < p1; p++) {
          const q = p * acs;
          const a0 = a[r0 + q],
            a1 = a[r1 + q],
            a2 = a[r2 + q],
            a3 = a[r3 + q];
          const b0 = bOff + p * ldb;
          for (let j = j0; j < j1; j++) {
            const x = b[b0 + j];
            c[c0 + j] += a0 * x;
            c[c1 + j] += a1 * x;
            c[c2 + j] += a2 * x;
            c[c3 + j] += a3 * x;
          }
        }
      }
      for (; i < m; i++) {
        const c0 = cOff + i * ldc;
        const r0 = aOff + i * ars;
        let p = p0;
        for (; p + 3 < p1; p += 4) {
          const q0 = p * acs;
          const a0 = a[r0 + q0],
            a1 = a[r0 + q0 + acs],
            a2 = a[r0 + q0 + 2 * acs],
            a3 = a[r0 + q0 + 3 * acs];
          const b0 = bOff + p * ldb;
          const b1 = b0 + ldb;
          const b2 = b1 + ldb;
          const b3 = b2 + ldb;
          for (let j = j0; j < j1; j++) c[c0 + j] += a0 * b[b0 + j] + a1 * b[b1 + j] + a2 * b[b2 + j] + a3 * b[b3 + j];
        }
        for (; p < p1; p++) {
          const av = a[r0 + p * acs];
          const b0 = bOff + p * ldb;
          for (let j = j0; j < j1; j++) c[c0 + j] += av * b[b0 + j];
        }
      }
    }
  }
}

/** Sub-block addressing for {@link gemmAcc}: element offsets and row strides. */
export interface GemmLayout {
  aOff?: number;
  bOff?: number;
  cOff?: number;
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/** A·B for A [m×k] and B [k×n]; returns a new m×n matrix. */
export function matmul(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  checkSize(a, m * k, 'matmul: a');
  checkSize(b, k * n, 'matmul: b');
  const c = new Float64Array(m * n);
  gemmAcc(c, a, b, m, k, n);
  return c;
}

/** Aᵀ·B for A [k×m] and B [k×n]; returns a new m×n matrix (no transpose is materialised). */
export function matmulTransA(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  checkSize(a, k * m, 'matmulTransA: a');
  checkSize(b, k * n, 'matmulTransA: b');
  const c = new Float64Array(m * n);
  gemmAcc(c, a, b, m, k, n, true);
  return c;
}

/** A·Bᵀ for A [m×k] and B [n×k]; returns a new m×n matrix. */
export function matmulTransB(a: Float64Array, b: Float64Array, m: number, k: number, n: number): Float64Array {
  checkSize(a, m * k, 'matmulTransB: a');
  checkSize(b, n * k, 'matmulTransB: b');
  return matmul(a, transpose(b, n, k), m, k, n);
}

/** The transpose of a rows×cols matrix (a new cols×rows matrix), in cache-sized tiles. */
export function transpose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  checkSize(a, rows * cols, 'transpose');
  const t = new Float64Array(rows * cols);
  const B = 32;
  for (let i0 = 0; i0 < rows; i0 += B) {
    const i1 = Math.min(rows, i0 + B);
    for (let j0 = 0; j0 < cols; j0 += B) {
      const j1 = Math.min(cols, j0 + B);
      for (let i = i0; i < i1; i++) {
        const ri = i * cols;
        for (let j = j0; j < j1; j++) t[j * rows + i] = a[ri + j];
      }
    }
  }
  return t;
}

/**
 * Q_Sᵀ·G·Q_A: a gradient G [out×in] expressed in the Kronecker eigenbasis, with Q_S [out×out] and
 * Q_A [in×in] holding eigenvectors as columns. Dimensions come from the lengths (Q_S and Q_A
 * square); pass `outDim`/`inDim` to check them explicitly.
 */
export function rotate(qs: Float64Array, g: Float64Array, qa: Float64Array, outDim?: number, inDim?: number): Float64Array {
  const [out, inn] = kronDims(qs, g, qa, outDim, inDim, 'rotate');
  const gqa = matmul(g, qa, out, inn, inn); // G·Q_A
  return matmulTransA(qs, gqa, out, out, inn); // Q_Sᵀ·(G·Q_A)
}

/** Q_S·X·Q_Aᵀ: the inverse of {@link rotate} (X [out×in] back from the eigenbasis). */
export function unrotate(qs: Float64Array, x: Float64Array, qa: Float64Array, outDim?: number, inDim?: number): Float64Array {
  const [out, inn] = kronDims(qs, x, qa, outDim, inDim, 'unrotate');
  const xqat = matmulTransB(x, qa, out, inn, inn); // X·Q_Aᵀ
  return matmul(qs, xqat, out, out, inn); // Q_S·(X·Q_Aᵀ)
}

/** The n×n identity. */
export function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

/** √(Σ x²), scaled so that it neither overflows nor underflows. */
export function frobeniusNorm(a: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < a.length; i++) scale = Math.max(scale, Math.abs(a[i]));
  if (scale === 0 || !Number.isFinite(scale)) return scale;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] / scale;
    s += x * x;
  }
  return scale * Math.sqrt(s);
}

function kronDims(qs: Float64Array, g: Float64Array, qa: Float64Array, outDim: number | undefined, inDim: number | undefined, what: string): [number, number] {
  const out = outDim ?? Math.round(Math.sqrt(qs.length));
  const inn = inDim ?? Math.round(Math.sqrt(qa.length));
  if (out * out !== qs.length) throw new RangeError(`${what}: Q_S has ${qs.length} entries, not ${out}²`);
  if (inn * inn !== qa.length) throw new RangeError(`${what}: Q_A has ${qa.length} entries, not ${inn}²`);
  if (g.length !== out * inn) throw new RangeError(`${what}: matrix has ${g.length} entries, not ${out}×${inn}`);
  return [out, inn];
}

function checkSize(a: ArrayLike<number>, size: number, what: string): void {
  if (a.length < size) throw new RangeError(`${what}: ${a.length} entries, need ${size}`);
}
