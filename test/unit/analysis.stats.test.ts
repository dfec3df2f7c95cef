/**
 * The statistics behind the analyses' p-values and fits: ln Γ, the regularized incomplete beta
 * (continued fraction), Student's t CDF, one-sample and Welch t-tests, least squares and Fisher z,
 * against closed forms and scipy 1.17 values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  fisherZ,
  incompleteBeta,
  linearFit,
  lnGamma,
  mean,
  oneSampleT,
  sd,
  studentTCdf,
  studentTTwoSided,
  variance,
  welchT,
} from '../../server/src/engine/analysis/stats';

function rel(actual: number, expected: number, tol: number, what = ''): void {
  const err = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
  assert.ok(err <= tol, `${what} ${actual} vs ${expected} (relative error ${err})`);
}

test('mean, variance and sd (n − 1)', () => {
  assert.equal(mean([1, 2, 3, 4]), 2.5);
  rel(variance([1, 2, 3, 4]), 5 / 3, 1e-15);
  rel(sd([2, 4, 4, 4, 5, 5, 7, 9]), Math.sqrt(32 / 7), 1e-15);
  assert.ok(Number.isNaN(mean([])));
  assert.ok(Number.isNaN(sd([1])));
});

test('lnGamma: factorials, Γ(1/2) = √π, scipy values', () => {
  assert.ok(Math.abs(lnGamma(1)) < 1e-14 && Math.abs(lnGamma(2)) < 1e-14);
  rel(lnGamma(10), Math.log(362880), 1e-14);
  rel(lnGamma(0.5), 0.5 * Math.log(Math.PI), 1e-14);
  rel(lnGamma(100.5), 361.43554046777757, 1e-14);
  rel(lnGamma(0.1), 2.252712651734206, 1e-14);
  rel(lnGamma(3.7), 1.428072326665388, 1e-14);
  assert.ok(Number.isNaN(lnGamma(0)) && Number.isNaN(lnGamma(-1)));
});

test('incompleteBeta: closed forms', () => {
  for (const x of [0.01, 0.2, 0.5, 0.77, 0.99]) {
    rel(incompleteBeta(1, 1, x), x, 1e-13, `I_${x}(1,1)`);
    rel(incompleteBeta(3, 1, x), x ** 3, 1e-13, `I_${x}(3,1)`);
    rel(incompleteBeta(1, 4, x), 1 - (1 - x) ** 4, 1e-13, `I_${x}(1,4)`);
    // I_x(1/2, 1/2) = (2/π) asin √x.
    rel(incompleteBeta(0.5, 0.5, x), (2 / Math.PI) * Math.asin(Math.sqrt(x)), 1e-13, `I_${x}(½,½)`);
    // Symmetry I_x(a, b) = 1 − I_{1−x}(b, a).
    rel(incompleteBeta(2.5, 7, x), 1 - incompleteBeta(7, 2.5, 1 - x), 1e-12, 'symmetry');
  }
  // I_x(2, 3) = Σ_{j=2..4} C(4, j) x^j (1−x)^{4−j}: at ½, 11/16.
  rel(incompleteBeta(2, 3, 0.5), 0.6875, 1e-14);
  assert.equal(incompleteBeta(2, 3, 0), 0);
  assert.equal(incompleteBeta(2, 3, 1), 1);
  assert.ok(Number.isNaN(incompleteBeta(0, 1, 0.5)) && Number.isNaN(incompleteBeta(1, 1, 1.5)));
});

test('incompleteBeta: scipy.special.betainc values', () => {
  const cases: [number, number, number, number][] = [
    [0.5, 0.5, 0.3, 0.36901011956554536],
    [5, 7, 0.2, 0.05040957440000002],
    [30, 40, 0.45, 0.6447480085585666],
    [0.1, 10, 0.01, 0.8244896709066988],
    [200, 300, 0.41, 0.677628164772179],
  ];
  for (const [a, b, x, want] of cases) rel(incompleteBeta(a, b, x), want, 1e-12, `I_${x}(${a}, ${b})`);
});

test('Student t: scipy values and closed forms', () => {
  rel(studentTTwoSided(2.0, 10), 0.07338803477074037, 1e-12, 't=2, df=10');
  rel(studentTTwoSided(-2.0, 10), 0.07338803477074037, 1e-12, 't=−2, df=10');
  rel(studentTTwoSided(2.5, 3.7), 0.07182202291182678, 1e-12, 'non-integer df');
  rel(studentTTwoSided(12, 40), 7.82417130425598e-15, 1e-10, 'far tail');
  rel(studentTCdf(-1.3, 5), 0.12515031708533855, 1e-12, 'cdf');
  rel(studentTCdf(1.3, 5), 1 - 0.12515031708533855, 1e-13, 'cdf upper');
  assert.equal(studentTCdf(0, 7), 0.5);
  assert.equal(studentTTwoSided(0, 7), 1);
  for (const t of [-3, -0.4, 0.9, 5]) {
    rel(studentTCdf(t, 1), 0.5 + Math.atan(t) / Math.PI, 1e-13, `Cauchy ${t}`); // df = 1
    rel(studentTCdf(t, 2), 0.5 + t / (2 * Math.sqrt(2 + t * t)), 1e-13, `df=2 ${t}`);
  }
  // Large df approaches the normal: two-sided p at 1.96 ≈ 0.05.
  rel(studentTTwoSided(1.959963984540054, 1e6), 0.05, 1e-4, 'normal limit');
  assert.equal(studentTTwoSided(Infinity, 3), 0);
  assert.ok(Number.isNaN(studentTTwoSided(1, 0)));
});

test('oneSampleT and welchT: scipy.stats values', () => {
  const one = oneSampleT([0.1, 0.3, -0.05, 0.2, 0.15]);
  rel(one.t, 2.4188315916278085, 1e-13);
  assert.equal(one.df, 4);
  rel(one.p, 0.07285505961025568, 1e-12);
  const w = welchT([1, 2, 3, 4, 5.5], [2, 4, 6, 8, 9, 11.2]);
  rel(w.t, -2.270792521068372, 1e-13);
  rel(w.df, 7.726454513393164, 1e-13);
  rel(w.p, 0.053956307550355874, 1e-12);
  assert.ok(Number.isNaN(oneSampleT([1]).p));
  assert.ok(Number.isNaN(welchT([1, 2], [3]).p));
  assert.ok(Number.isNaN(welchT([1, 1], [2, 2]).t), 'no variance at all');
  assert.equal(oneSampleT([2, 2, 2]).p, 0, 'constant sample away from 0');
});

test('linearFit recovers a line; fisherZ is atanh, finite at ±1', () => {
  const x = [0, 1, 2, 3, 4];
  const f = linearFit(
    x,
    x.map((v) => 3 - 0.5 * v),
  );
  rel(f.slope, -0.5, 1e-15);
  rel(f.intercept, 3, 1e-15);
  rel(f.r2, 1, 1e-15);
  assert.ok(Number.isNaN(linearFit([1, 1], [2, 3]).slope));
  rel(fisherZ(0.5), Math.atanh(0.5), 1e-15);
  assert.ok(Number.isFinite(fisherZ(1)) && fisherZ(1) > 10 && fisherZ(-1) === -fisherZ(1));
});
