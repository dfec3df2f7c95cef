/**
 * Small statistics over score vectors: correlations (query-query heatmaps, low-rank vs full-rank
 * agreement), summaries and tests (top/bottom-k selection is util/topK.ts). Everything takes
 * ArrayLike<number> (plain arrays, Float32Array, Float64Array) and computes in float64.
 */

/**
 * Pearson's correlation coefficient r ∈ [−1, 1]. NaN when there are fewer than two points, when
 * either input is constant, or when an input contains NaN. Throws on a length mismatch.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = sameLength(x, y, 'pearson');
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
  return Math.max(-1, Math.min(1, r));
}

/**
 * Spearman's rank correlation: Pearson's r of the average ranks (ties share the mean of the ranks
 * they span, as scipy.stats.spearmanr does). NaN in the cases {@link pearson} gives NaN.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  sameLength(x, y, 'spearman');
  return pearson(ranks(x), ranks(y));
}

/**
 * 1-based ranks in ascending order of value, ties given the average of the ranks they span
 * (scipy.stats.rankdata's 'average'): ranks([10, 20, 10]) = [1.5, 3, 1.5]. NaN entries get rank NaN
 * and do not count towards the others' ranks.
 */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(x[i])) out[i] = NaN;
    else idx.push(i);
  }
  idx.sort((a, b) => x[a] - x[b] || a - b);
  for (let p = 0; p < idx.length;) {
    let q = p + 1;
    while (q < idx.length && x[idx[q]] === x[idx[p]]) q++;
    const r = (p + 1 + q) / 2; // mean of ranks p+1 … q
    for (let t = p; t < q; t++) out[idx[t]] = r;
    p = q;
  }
  return out;
}

function sameLength(x: ArrayLike<number>, y: ArrayLike<number>, what: string): number {
  if (x.length !== y.length) throw new RangeError(`${what}: lengths differ (${x.length} vs ${y.length})`);
  return x.length;
}

// ---------------------------------------------------------------------------------------------
// Summaries, tests and fits used by the paper's analyses (./analyze.ts).

/** Arithmetic mean; NaN for an empty input. */
export function mean(x: ArrayLike<number>): number {
  if (x.length === 0) return NaN;
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s / x.length;
}

/** Sample standard deviation (n − 1 in the denominator); NaN for fewer than two values. */
export function sd(x: ArrayLike<number>): number {
  return Math.sqrt(variance(x));
}

/** Sample variance (n − 1 in the denominator); NaN for fewer than two values. */
export function variance(x: ArrayLike<number>): number {
  const n = x.length;
  if (n < 2) return NaN;
  const m = mean(x);
  let s = 0;
  for (let i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
  return s / (n - 1);
}

const LANCZOS = [
  0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012,
  9.9843695780195716e-6, 1.5056327351493116e-7,
];

/** ln Γ(x) for x > 0 (Lanczos, g = 7; relative error ≈ 1e-15). */
export function lnGamma(x: number): number {
  if (!(x > 0)) return NaN;
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x); // reflection
  const z = x - 1;
  let s = LANCZOS[0];
  for (let i = 1; i < LANCZOS.length; i++) s += LANCZOS[i] / (z + i);
  const t = z + 7.5;
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(s);
}

/**
 * The regularized incomplete beta function I_x(a, b) = B(x; a, b) / B(a, b), for a, b > 0 and
 * x ∈ [0, 1]: the continued fraction of Numerical Recipes (§6.4) evaluated by the modified Lentz
 * method, on I_x(a, b) directly when x < (a + 1)/(a + b + 2) (where it converges fast) and through
 * the symmetry I_x(a, b) = 1 − I_{1−x}(b, a) otherwise. NaN outside the domain.
 */
export function incompleteBeta(a: number, b: number, x: number): number {
  if (!(a > 0) || !(b > 0) || !(x >= 0 && x <= 1)) return NaN;
  if (x === 0) return 0;
  if (x === 1) return 1;
  const lnFront = lnGamma(a + b) - lnGamma(a) - lnGamma(b) + a * Math.log(x) + b * Math.log1p(-x);
  const front = Math.exp(lnFront);
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(a, b, x)) / a;
  return 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

function betaContinuedFraction(a: number, b: number, x: number): number {
  const TINY = 1e-300;
  const EPS = 1e-16;
  const qab = a + b;
  const qap = a + 1;
  const qam = a - 1;
  let c = 1;
  let d = 1 - (qab * x) / qap;
  if (Math.abs(d) < TINY) d = TINY;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10_000; m++) {
    const m2 = 2 * m;
    // Even step: d_{2m} = m (b − m) x / ((a + 2m − 1)(a + 2m)).
    let aa = (m * (b - m) * x) / ((qam + m2) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    h *= d * c;
    // Odd step: d_{2m+1} = −(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)).
    aa = (-(a + m) * (qab + m) * x) / ((a + m2) * (qap + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < TINY) d = TINY;
    c = 1 + aa / c;
    if (Math.abs(c) < TINY) c = TINY;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < EPS) return h;
  }
  return h; // not converged in 10⁴ steps (only for extreme a, b): the best estimate so far
}

/** P(T ≤ t) for Student's t with `df` > 0 degrees of freedom (df need not be an integer). */
export function studentTCdf(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const tail = 0.5 * incompleteBeta(df / 2, 0.5, df / (df + t * t)); // P(T > |t|)
  return t > 0 ? 1 - tail : tail;
}

/** Two-sided p-value P(|T| ≥ |t|) for Student's t with `df` degrees of freedom. */
export function studentTTwoSided(t: number, df: number): number {
  if (Number.isNaN(t) || !(df > 0)) return NaN;
  if (!Number.isFinite(t)) return 0;
  return Math.min(1, incompleteBeta(df / 2, 0.5, df / (df + t * t)));
}

export interface TTest {
  /** The t statistic (NaN when undefined: too few values, or no variance). */
  t: number;
  df: number;
  /** Two-sided p-value. */
  p: number;
}

/**
 * One-sample t-test of mean(x) = mu: t = (x̄ − mu)/(s/√n), df = n − 1, two-sided p. With n < 2 all
 * NaN; with zero variance t is ±∞ (p = 0) unless x̄ = mu (then NaN).
 */
export function oneSampleT(x: ArrayLike<number>, mu = 0): TTest {
  const n = x.length;
  if (n < 2) return { t: NaN, df: NaN, p: NaN };
  const m = mean(x);
  const t = (m - mu) / Math.sqrt(variance(x) / n);
  return { t, df: n - 1, p: studentTTwoSided(t, n - 1) };
}

/**
 * Welch's unequal-variance t-test of mean(x) = mean(y): t = (x̄ − ȳ)/√(s²ₓ/nₓ + s²ᵧ/nᵧ), with the
 * Welch–Satterthwaite degrees of freedom; two-sided p. NaN when either sample has fewer than two
 * values or both have no variance.
 */
export function welchT(x: ArrayLike<number>, y: ArrayLike<number>): TTest {
  if (x.length < 2 || y.length < 2) return { t: NaN, df: NaN, p: NaN };
  const vx = variance(x) / x.length;
  const vy = variance(y) / y.length;
  const se2 = vx + vy;
  if (se2 === 0) return { t: NaN, df: NaN, p: NaN };
  const t = (mean(x) - mean(y)) / Math.sqrt(se2);
  const df = (se2 * se2) / ((vx * vx) / (x.length - 1) + (vy * vy) / (y.length - 1));
  return { t, df, p: studentTTwoSided(t, df) };
}

export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination (1 for a perfect fit; NaN when y is constant). */
  r2: number;
}

/** Ordinary least squares y ≈ intercept + slope·x. NaN fields with fewer than two points or constant x. */
export function linearFit(x: ArrayLike<number>, y: ArrayLike<number>): LineFit {
  const n = sameLength(x, y, 'linearFit');
  const mx = mean(x);
  const my = mean(y);
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) * (x[i] - mx);
    sxy += (x[i] - mx) * (y[i] - my);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (n < 2 || sxx === 0) return { slope: NaN, intercept: NaN, r2: NaN };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? NaN : (sxy * sxy) / (sxx * syy) };
}

/** Fisher's z = atanh(r), with |r| clipped to 1 − 1e-12 so that identical vectors give a large finite z. */
export function fisherZ(r: number): number {
  const c = 1 - 1e-12;
  return Math.atanh(Math.max(-c, Math.min(c, r)));
}
