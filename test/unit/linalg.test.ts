/**
 * Float64 linear algebra for EK-FAC: the symmetric eigensolver (residual, orthogonality, ordering,
 * degenerate and rank-deficient spectra, the zero matrix), the matrix helpers (against naive
 * loops; rotate/unrotate round trip) and the truncated SVD (known singular values, rank
 * deficiency, the Eckart–Young error against a full decomposition). All checks use naive
 * reference loops, independent of the blocked kernels under test. Timings are printed, not asserted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { symmetricEigen } from '../../server/src/engine/linalg/eigh';
import { householderQr, truncatedSvd } from '../../server/src/engine/linalg/svd';
import { frobeniusNorm, matmul, matmulTransA, matmulTransB, rotate, transpose, unrotate } from '../../server/src/engine/linalg/matrix';
import { Rng } from '../../server/src/engine/util/random';

// ---------------------------------------------------------------------------------------------
// Reference helpers (naive, obviously correct)

function gaussian(n: number, rng: Rng): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) a[i] = rng.normal();
  return a;
}

function naiveMatmul(a: ArrayLike<number>, b: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const c = new Float64Array(m * n);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a[i * k + p] * b[p * n + j];
      c[i * n + j] = s;
    }
  }
  return c;
}

function naiveTranspose(a: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const t = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) t[j * rows + i] = a[i * cols + j];
  return t;
}

function randomSymmetric(n: number, seed: number): Float64Array {
  const rng = new Rng(seed);
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const x = rng.normal();
      m[i * n + j] = x;
      m[j * n + i] = x;
    }
  }
  return m;
}

/** A random n×p matrix with orthonormal columns (Gram–Schmidt twice on a Gaussian matrix). */
function randomOrthonormal(n: number, p: number, seed: number): Float64Array {
  const rng = new Rng(seed, 17);
  const cols: Float64Array[] = [];
  while (cols.length < p) {
    const v = gaussian(n, rng);
    for (let pass = 0; pass < 2; pass++) {
      for (const c of cols) {
        let d = 0;
        for (let i = 0; i < n; i++) d += c[i] * v[i];
        for (let i = 0; i < n; i++) v[i] -= d * c[i];
      }
    }
    const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
    for (let i = 0; i < n; i++) v[i] /= norm;
    cols.push(v);
  }
  const q = new Float64Array(n * p);
  for (let j = 0; j < p; j++) for (let i = 0; i < n; i++) q[i * p + j] = cols[j][i];
  return q;
}

/** U diag(s) Vᵀ for random orthonormal U [rows×p], V [cols×p]. */
function withSingularValues(rows: number, cols: number, s: number[], seed: number): Float64Array {
  const p = s.length;
  const u = randomOrthonormal(rows, p, seed);
  const v = randomOrthonormal(cols, p, seed + 1);
  const us = new Float64Array(rows * p);
  for (let i = 0; i < rows; i++) for (let t = 0; t < p; t++) us[i * p + t] = u[i * p + t] * s[t];
  return naiveMatmul(us, naiveTranspose(v, cols, p), rows, p, cols);
}

/** Q diag(e) Qᵀ for a random orthogonal Q. */
function withEigenvalues(e: number[], seed: number): Float64Array {
  const n = e.length;
  const q = randomOrthonormal(n, n, seed);
  const qe = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) qe[i * n + j] = q[i * n + j] * e[j];
  const m = naiveMatmul(qe, naiveTranspose(q, n, n), n, n, n);
  // Exactly symmetric.
  for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) m[j * n + i] = m[i * n + j];
  return m;
}

function frob(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** max |QᵀQ − I| for a rows×cols matrix with (supposedly) orthonormal columns. */
function orthogonalityError(q: Float64Array, rows: number, cols: number): number {
  const g = naiveMatmul(naiveTranspose(q, rows, cols), q, cols, rows, cols);
  let e = 0;
  for (let i = 0; i < cols; i++) for (let j = 0; j < cols; j++) e = Math.max(e, Math.abs(g[i * cols + j] - (i === j ? 1 : 0)));
  return e;
}

interface EigenCheck {
  residual: number;
  orthogonality: number;
}

/** ‖MQ − QΛ‖_F/‖M‖_F and max |QᵀQ − I|, plus the shape and ordering contract. */
function checkEigen(m: Float64Array, n: number, values: Float64Array, vectors: Float64Array): EigenCheck {
  assert.equal(values.length, n);
  assert.equal(vectors.length, n * n);
  for (let i = 1; i < n; i++) assert.ok(values[i] <= values[i - 1], `eigenvalues not descending at ${i}`);
  const mq = naiveMatmul(m, vectors, n, n, n);
  let r = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const d = mq[i * n + j] - vectors[i * n + j] * values[j];
      r += d * d;
    }
  }
  const norm = frob(m);
  return { residual: norm === 0 ? Math.sqrt(r) : Math.sqrt(r) / norm, orthogonality: orthogonalityError(vectors, n, n) };
}

function timed<T>(f: () => T): [T, number] {
  const t0 = performance.now();
  const out = f();
  return [out, performance.now() - t0];
}

// ---------------------------------------------------------------------------------------------
// symmetricEigen

test('symmetricEigen: random symmetric matrices (n = 1, 2, 5, 24, 25, 64, 200) to 1e-12', () => {
  for (const n of [1, 2, 5, 24, 25, 64, 200]) {
    const m = randomSymmetric(n, n);
    const [{ values, vectors }, ms] = timed(() => symmetricEigen(m, n));
    const { residual, orthogonality } = checkEigen(m, n, values, vectors);
    console.log(`# eigen n=${n}: residual ${residual.toExponential(2)}, orthogonality ${orthogonality.toExponential(2)}, ${ms.toFixed(1)} ms`);
    assert.ok(residual < 1e-12, `n=${n}: residual ${residual}`);
    assert.ok(orthogonality < 1e-12, `n=${n}: orthogonality ${orthogonality}`);
    let trace = 0;
    let sum = 0;
    for (let i = 0; i < n; i++) {
      trace += m[i * n + i];
      sum += values[i];
    }
    assert.ok(Math.abs(trace - sum) < 1e-10 * Math.max(1, Math.abs(trace)) * n, `n=${n}: trace`);
  }
});

test('symmetricEigen: 1×1 and 2×2 in closed form, sign convention', () => {
  const one = symmetricEigen(new Float64Array([-3.5]), 1);
  assert.deepEqual(Array.from(one.values), [-3.5]);
  assert.deepEqual(Array.from(one.vectors), [1]);

  const { values, vectors } = symmetricEigen(new Float64Array([2, 1, 1, 2]), 2);
  assert.ok(Math.abs(values[0] - 3) < 1e-15 && Math.abs(values[1] - 1) < 1e-15);
  const h = Math.SQRT1_2;
  // Column 0 = (1, 1)/√2; column 1 = ±(1, −1)/√2 with its first (largest, tied) entry positive.
  const expected = [h, h, h, -h];
  vectors.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) < 1e-15, `vectors[${i}] = ${x}`));
});

test('symmetricEigen: repeated eigenvalues', () => {
  const e = [4, 4, 4, 4, 1, 1, 1, -2, -2, -2, -2, -2, 0, 0, 0, 0, 0, 0, 7, 3.5];
  for (const reps of [1, 5]) {
    // reps copies → n = 20 and n = 100 (divide and conquer with heavy deflation).
    const spectrum = Array.from({ length: reps }, () => e).flat();
    const n = spectrum.length;
    const m = withEigenvalues(spectrum, 3 + reps);
    const { values, vectors } = symmetricEigen(m, n);
    const { residual, orthogonality } = checkEigen(m, n, values, vectors);
    assert.ok(residual < 1e-12 && orthogonality < 1e-12, `n=${n}: residual ${residual}, orthogonality ${orthogonality}`);
    const sorted = [...spectrum].sort((a, b) => b - a);
    values.forEach((v, i) => assert.ok(Math.abs(v - sorted[i]) < 1e-12 * 7, `value ${i}: ${v} vs ${sorted[i]}`));
  }
});

test('symmetricEigen: clustered spectrum (eigenvalues 1e-11 apart) stays orthogonal', () => {
  const n = 90;
  const spectrum = Array.from({ length: n }, (_, i) => (i < 60 ? 1 + 1e-11 * i : -0.5 + 1e-3 * i));
  const m = withEigenvalues(spectrum, 11);
  const { values, vectors } = symmetricEigen(m, n);
  const { residual, orthogonality } = checkEigen(m, n, values, vectors);
  assert.ok(residual < 1e-12 && orthogonality < 1e-12, `residual ${residual}, orthogonality ${orthogonality}`);
});

test('symmetricEigen: PSD covariance XᵀX of rank 20 (n = 64, 150)', () => {
  for (const n of [64, 150]) {
    const rows = 20;
    const x = gaussian(rows * n, new Rng(5, n));
    const m = naiveMatmul(naiveTranspose(x, rows, n), x, n, rows, n);
    for (let i = 0; i < m.length; i++) m[i] /= rows;
    const { values, vectors } = symmetricEigen(m, n);
    const { residual, orthogonality } = checkEigen(m, n, values, vectors);
    assert.ok(residual < 1e-12 && orthogonality < 1e-12, `n=${n}: residual ${residual}, orthogonality ${orthogonality}`);
    const top = values[0];
    for (let i = 0; i < rows; i++) assert.ok(values[i] > 1e-3 * top, `n=${n}: value ${i} = ${values[i]}`);
    for (let i = rows; i < n; i++) assert.ok(Math.abs(values[i]) < 1e-13 * top * n, `n=${n}: null value ${i} = ${values[i]}`);
  }
});

test('symmetricEigen: the zero matrix, diagonal matrices, the all-ones matrix', () => {
  const n = 40;
  const zero = symmetricEigen(new Float64Array(n * n), n);
  assert.ok(zero.values.every((v) => v === 0));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) assert.equal(zero.vectors[i * n + j], i === j ? 1 : 0);

  const diag = [3, -1, 0, 7, 3, 2.5];
  const d = new Float64Array(36);
  diag.forEach((x, i) => (d[i * 6 + i] = x));
  const dr = symmetricEigen(d, 6);
  assert.deepEqual(Array.from(dr.values), [7, 3, 3, 2.5, 0, -1]);
  const dc = checkEigen(d, 6, dr.values, dr.vectors);
  assert.ok(dc.residual === 0 && dc.orthogonality === 0);

  const ones = new Float64Array(150 * 150).fill(1);
  const or = symmetricEigen(ones, 150);
  assert.ok(Math.abs(or.values[0] - 150) < 1e-12);
  const oc = checkEigen(ones, 150, or.values, or.vectors);
  assert.ok(oc.residual < 1e-12 && oc.orthogonality < 1e-12, `ones: ${oc.residual}, ${oc.orthogonality}`);
});

test('symmetricEigen: symmetrises its input; extreme scales; graded and Wilkinson matrices', () => {
  const n = 30;
  const base = randomSymmetric(n, 99);
  const skew = new Float64Array(n * n);
  const rng = new Rng(4);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) skew[i * n + j] = base[i * n + j] + (i < j ? 1e-3 * rng.normal() : 0);
  const sym = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) sym[i * n + j] = 0.5 * (skew[i * n + j] + skew[j * n + i]);
  const a = symmetricEigen(skew, n);
  const b = symmetricEigen(sym, n);
  a.values.forEach((v, i) => assert.ok(Math.abs(v - b.values[i]) < 1e-13));
  a.vectors.forEach((v, i) => assert.ok(Math.abs(v - b.vectors[i]) < 1e-10));

  for (const scale of [1e-150, 1e150]) {
    const m = base.map((x) => x * scale);
    const { values, vectors } = symmetricEigen(m, n);
    const { residual, orthogonality } = checkEigen(m, n, values, vectors);
    assert.ok(residual < 1e-12 && orthogonality < 1e-12, `scale ${scale}`);
  }

  const graded = new Float64Array(130 * 130);
  const wilk = new Float64Array(201 * 201);
  for (let i = 0; i < 130; i++) {
    graded[i * 130 + i] = 1e-12 * i;
    if (i > 0) graded[i * 130 + i - 1] = graded[(i - 1) * 130 + i] = 1e-3;
  }
  for (let i = 0; i < 201; i++) {
    wilk[i * 201 + i] = Math.abs(i - 100);
    if (i > 0) wilk[i * 201 + i - 1] = wilk[(i - 1) * 201 + i] = 1;
  }
  for (const [m, size] of [
    [graded, 130],
    [wilk, 201],
  ] as const) {
    const { values, vectors } = symmetricEigen(m, size);
    const { residual, orthogonality } = checkEigen(m, size, values, vectors);
    assert.ok(residual < 1e-12 && orthogonality < 1e-12, `n=${size}: residual ${residual}, orthogonality ${orthogonality}`);
  }
});

test('symmetricEigen: rejects bad input', () => {
  assert.throws(() => symmetricEigen(new Float64Array(5), 2), RangeError);
  assert.throws(() => symmetricEigen(new Float64Array([1, NaN, NaN, 1]), 2), RangeError);
  assert.throws(() => symmetricEigen(new Float64Array([1, Infinity, 0, 1]), 2), RangeError);
  assert.equal(symmetricEigen(new Float64Array(0), 0).values.length, 0);
});

test('symmetricEigen: timings (printed only)', () => {
  for (const n of [64, 172, 512]) {
    const m = randomSymmetric(n, 7);
    const [{ values, vectors }, ms] = timed(() => symmetricEigen(m, n));
    // A cheap residual spot check on a few columns (the full check is O(n³) naive).
    for (const j of [0, n >> 1, n - 1]) {
      let r = 0;
      for (let i = 0; i < n; i++) {
        let s = 0;
        for (let p = 0; p < n; p++) s += m[i * n + p] * vectors[p * n + j];
        r += (s - values[j] * vectors[i * n + j]) ** 2;
      }
      assert.ok(Math.sqrt(r) < 1e-12 * frob(m), `n=${n}: column ${j}`);
    }
    console.log(`# eigen timing n=${n}: ${ms.toFixed(0)} ms`);
  }
});

// ---------------------------------------------------------------------------------------------
// matrix helpers

test('matmul, matmulTransA, matmulTransB, transpose against naive loops (block edges crossed)', () => {
  const rng = new Rng(21);
  for (const [m, k, n] of [
    [1, 1, 1],
    [3, 7, 5],
    [9, 300, 13],
    [6, 5, 530],
    [37, 260, 515],
  ]) {
    const a = gaussian(m * k, rng);
    const b = gaussian(k * n, rng);
    const want = naiveMatmul(a, b, m, k, n);
    const scale = Math.max(1, frob(want));
    const got = matmul(a, b, m, k, n);
    got.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-13 * scale, `matmul ${m}×${k}×${n} at ${i}`));
    const gotT = matmulTransA(naiveTranspose(a, m, k), b, m, k, n);
    gotT.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-13 * scale, `matmulTransA ${m}×${k}×${n} at ${i}`));
    const gotBT = matmulTransB(a, naiveTranspose(b, k, n), m, k, n);
    gotBT.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-13 * scale, `matmulTransB ${m}×${k}×${n} at ${i}`));
    assert.deepEqual(Array.from(transpose(a, m, k)), Array.from(naiveTranspose(a, m, k)));
  }
  assert.throws(() => matmul(new Float64Array(3), new Float64Array(4), 2, 2, 2), RangeError);
  assert.ok(Math.abs(frobeniusNorm([3, 4]) - 5) < 1e-15);
  assert.equal(frobeniusNorm([1e-200, 1e-200]), Math.SQRT2 * 1e-200);
});

test('rotate and unrotate: Q_Sᵀ G Q_A and its inverse, round trip', () => {
  const out = 7;
  const inn = 5;
  const qs = symmetricEigen(randomSymmetric(out, 1), out).vectors;
  const qa = symmetricEigen(randomSymmetric(inn, 2), inn).vectors;
  const g = gaussian(out * inn, new Rng(3));
  const r = rotate(qs, g, qa);
  const want = naiveMatmul(naiveMatmul(naiveTranspose(qs, out, out), g, out, out, inn), qa, out, inn, inn);
  r.forEach((x, i) => assert.ok(Math.abs(x - want[i]) < 1e-13, `rotate at ${i}`));
  const back = unrotate(qs, r, qa);
  back.forEach((x, i) => assert.ok(Math.abs(x - g[i]) < 1e-13, `round trip at ${i}`));
  // Rotation preserves the Frobenius norm.
  assert.ok(Math.abs(frob(r) - frob(g)) < 1e-13 * frob(g));
  // Larger, crossing the kernel's block sizes.
  const big = [70, 300] as const;
  const qs2 = symmetricEigen(randomSymmetric(big[0], 4), big[0]).vectors;
  const qa2 = symmetricEigen(randomSymmetric(big[1], 5), big[1]).vectors;
  const g2 = gaussian(big[0] * big[1], new Rng(6));
  const back2 = unrotate(qs2, rotate(qs2, g2, qa2, big[0], big[1]), qa2, big[0], big[1]);
  back2.forEach((x, i) => assert.ok(Math.abs(x - g2[i]) < 1e-12, `round trip (big) at ${i}`));
  assert.throws(() => rotate(qs, new Float64Array(out * inn + 1), qa), RangeError);
});

// ---------------------------------------------------------------------------------------------
// truncatedSvd

function reconstructionError(m: Float64Array, rows: number, cols: number, svd: { u: Float64Array; s: Float64Array; v: Float64Array; k: number }): number {
  const { u, s, v, k } = svd;
  let e = 0;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) {
      let x = m[i * cols + j];
      for (let t = 0; t < k; t++) x -= u[i * k + t] * s[t] * v[j * k + t];
      e += x * x;
    }
  }
  return Math.sqrt(e);
}

function tailNorm(s: number[], k: number): number {
  const sorted = [...s].sort((a, b) => b - a);
  return Math.sqrt(sorted.slice(k).reduce((acc, x) => acc + x * x, 0));
}

function checkSvdShape(svd: { u: Float64Array; s: Float64Array; v: Float64Array; k: number }, rows: number, cols: number): void {
  const { u, s, v, k } = svd;
  assert.equal(u.length, rows * k);
  assert.equal(v.length, cols * k);
  assert.equal(s.length, k);
  for (let i = 1; i < k; i++) assert.ok(s[i] <= s[i - 1], 'singular values not descending');
  assert.ok(s.every((x) => x >= 0));
  const ou = orthogonalityError(u, rows, k);
  const ov = orthogonalityError(v, cols, k);
  assert.ok(ou < 1e-12 && ov < 1e-12, `orthogonality u ${ou}, v ${ov}`);
}

test('truncatedSvd: known singular values, exact path (small matrices), both orientations', () => {
  const s = Array.from({ length: 30 }, (_, i) => 2 ** -i);
  for (const [rows, cols] of [
    [50, 30],
    [30, 50],
  ]) {
    const m = withSingularValues(rows, cols, s, rows);
    const svd = truncatedSvd(m, rows, cols, 5);
    assert.equal(svd.k, 5);
    checkSvdShape(svd, rows, cols);
    svd.s.forEach((x, i) => assert.ok(Math.abs(x - s[i]) < 1e-13, `s[${i}] = ${x}`));
    const err = reconstructionError(m, rows, cols, svd);
    assert.ok(Math.abs(err - tailNorm(s, 5)) < 1e-12, `${rows}×${cols}: error ${err} vs ${tailNorm(s, 5)}`);
    // Full rank reconstructs exactly.
    const full = truncatedSvd(m, rows, cols, 100);
    assert.equal(full.k, 30);
    assert.ok(reconstructionError(m, rows, cols, full) < 1e-13);
  }
});

test('truncatedSvd: randomized path on a decaying spectrum matches the Eckart–Young optimum', () => {
  for (const [rows, cols, k] of [
    [400, 300, 32],
    [300, 700, 64],
  ]) {
    const s = Array.from({ length: Math.min(rows, cols) }, (_, i) => Math.exp(-i / 10));
    const m = withSingularValues(rows, cols, s, rows + cols);
    const [svd, ms] = timed(() => truncatedSvd(m, rows, cols, k));
    checkSvdShape(svd, rows, cols);
    const err = reconstructionError(m, rows, cols, svd);
    const opt = tailNorm(s, k);
    console.log(`# svd ${rows}×${cols} rank ${k}: error/optimal − 1 = ${(err / opt - 1).toExponential(2)}, ${ms.toFixed(0)} ms`);
    assert.ok(err / opt < 1 + 1e-6, `${rows}×${cols}: error ${err} vs optimal ${opt}`);
    svd.s.forEach((x, i) => assert.ok(Math.abs(x - s[i]) < 1e-6 * s[0], `s[${i}] = ${x} vs ${s[i]}`));
  }
});

test('truncatedSvd: rank-deficient matrices (rank below k) are reproduced exactly', () => {
  for (const [rows, cols, rank, k] of [
    [300, 500, 20, 32], // randomized path
    [100, 80, 3, 5], // exact path
  ]) {
    const s = Array.from({ length: rank }, (_, i) => 10 - (9 * i) / rank);
    const m = withSingularValues(rows, cols, s, rank);
    const svd = truncatedSvd(m, rows, cols, k);
    assert.equal(svd.k, k);
    checkSvdShape(svd, rows, cols);
    for (let i = 0; i < rank; i++) assert.ok(Math.abs(svd.s[i] - s[i]) < 1e-12 * s[0], `s[${i}]`);
    for (let i = rank; i < k; i++) assert.ok(svd.s[i] < 1e-13 * s[0], `s[${i}] = ${svd.s[i]} should vanish`);
    assert.ok(reconstructionError(m, rows, cols, svd) < 1e-12 * s[0]);
  }
  // The zero matrix: zero singular values, orthonormal vectors all the same.
  const zero = truncatedSvd(new Float64Array(40 * 25), 40, 25, 4);
  assert.ok(zero.s.every((x) => x === 0));
  checkSvdShape(zero, 40, 25);
});

test('truncatedSvd: flat spectrum, Eckart–Young error against a full decomposition via symmetricEigen(MᵀM)', () => {
  const rows = 160;
  const cols = 90;
  const m = gaussian(rows * cols, new Rng(8));
  const gram = naiveMatmul(naiveTranspose(m, rows, cols), m, cols, rows, cols);
  const sigma = Array.from(symmetricEigen(gram, cols).values, (x) => Math.sqrt(Math.max(x, 0)));
  for (const k of [10, 30]) {
    const opt = tailNorm(sigma, k);
    const randomized = truncatedSvd(m, rows, cols, k);
    checkSvdShape(randomized, rows, cols);
    const err = reconstructionError(m, rows, cols, randomized);
    console.log(`# svd flat ${rows}×${cols} rank ${k}: error/optimal − 1 = ${(err / opt - 1).toExponential(2)}`);
    assert.ok(err >= opt * (1 - 1e-12) && err / opt < 1.02, `k=${k}: error ${err} vs optimal ${opt}`);
    // Forcing the exact path (oversampling to full size) attains the optimum.
    const exact = truncatedSvd(m, rows, cols, k, { oversample: cols });
    const errExact = reconstructionError(m, rows, cols, exact);
    assert.ok(Math.abs(errExact / opt - 1) < 1e-10, `k=${k}: exact ${errExact} vs optimal ${opt}`);
    exact.s.forEach((x, i) => assert.ok(Math.abs(x - sigma[i]) < 1e-10 * sigma[0], `exact s[${i}]`));
  }
});

test('truncatedSvd: large ranks (ℓ×ℓ core above 256; exact path above 256)', () => {
  const s1 = Array.from({ length: 400 }, (_, i) => Math.exp(-i / 40));
  const m1 = withSingularValues(600, 400, s1, 12);
  const a = truncatedSvd(m1, 600, 400, 300); // randomized, ℓ = 375
  checkSvdShape(a, 600, 400);
  const errA = reconstructionError(m1, 600, 400, a);
  assert.ok(errA / tailNorm(s1, 300) < 1 + 1e-6, `rank 300: ${errA} vs ${tailNorm(s1, 300)}`);

  // Full rank of a 300×280 matrix with 100 non-zero singular values (exact path, rank-deficient).
  const s2 = Array.from({ length: 100 }, (_, i) => 1 + i);
  const m2 = withSingularValues(300, 280, s2, 13);
  const b = truncatedSvd(m2, 300, 280, 280);
  checkSvdShape(b, 300, 280);
  assert.ok(reconstructionError(m2, 300, 280, b) < 1e-12 * 100);
  for (let i = 100; i < 280; i++) assert.ok(b.s[i] < 1e-12 * 100, `s[${i}] = ${b.s[i]}`);
});

test('truncatedSvd: deterministic, sign convention, degenerate arguments', () => {
  const m = gaussian(120 * 70, new Rng(9));
  const a = truncatedSvd(m, 120, 70, 8);
  const b = truncatedSvd(m, 120, 70, 8);
  assert.deepEqual(Array.from(a.u), Array.from(b.u));
  assert.deepEqual(Array.from(a.s), Array.from(b.s));
  for (let j = 0; j < a.k; j++) {
    let best = 0;
    for (let i = 0; i < 120; i++) if (Math.abs(a.u[i * a.k + j]) > Math.abs(best)) best = a.u[i * a.k + j];
    assert.ok(best > 0, `u column ${j} largest entry negative`);
  }
  assert.equal(truncatedSvd(m, 120, 70, 0).k, 0);
  assert.equal(truncatedSvd(m, 120, 70, 3.7).k, 3);
  assert.equal(truncatedSvd(new Float64Array(0), 0, 5, 3).k, 0);
  assert.throws(() => truncatedSvd(m, 120, 71, 3), RangeError);
  const one = truncatedSvd(new Float64Array([3, 4]), 1, 2, 5);
  assert.equal(one.k, 1);
  assert.ok(Math.abs(one.s[0] - 5) < 1e-15);
});

test('householderQr: orthonormal Q even for rank-deficient input', () => {
  const m = 60;
  const l = 10;
  const x = gaussian(m * 4, new Rng(10));
  const a = new Float64Array(m * l);
  for (let i = 0; i < m; i++) for (let j = 0; j < l; j++) a[i * l + j] = j < 4 ? x[i * 4 + j] : j === 4 ? 0 : x[i * 4 + (j % 4)];
  const { q, r } = householderQr(a, m, l);
  assert.ok(orthogonalityError(q, m, l) < 1e-14);
  const qr = naiveMatmul(q, r, m, l, l);
  qr.forEach((v, i) => assert.ok(Math.abs(v - a[i]) < 1e-13, `QR at ${i}`));
});
