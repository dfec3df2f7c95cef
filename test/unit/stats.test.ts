/**
 * Correlations and top-k selection used by the analyses: Pearson and Spearman against hand-computed
 * values (ties included), average ranks, and deterministic top/bottom-k (ties → lower index first).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pearson, ranks, spearman } from '../../server/src/engine/analysis/stats';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import { Rng } from '../../server/src/engine/util/random';

function close(actual: number, expected: number, tol = 1e-15): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} vs ${expected}`);
}

test('pearson: hand-computed values', () => {
  // dx = (−2,−1,0,1,2), dy = (−2,0,1,0,1): Σdxdy = 6, Σdx² = 10, Σdy² = 6 ⇒ r = 6/√60.
  close(pearson([1, 2, 3, 4, 5], [2, 4, 5, 4, 5]), 6 / Math.sqrt(60));
  close(pearson([1, 2, 3], [2, 4, 6]), 1);
  close(pearson([1, 2, 3], [-1, -2, -3]), -1);
  // Invariant to affine maps with positive slope; works on typed arrays.
  close(
    pearson(
      new Float32Array([1, 2, 3, 4, 5]),
      Float64Array.from([2, 4, 5, 4, 5], (v) => 3 * v - 7),
    ),
    6 / Math.sqrt(60),
    1e-14,
  );
  // Uncorrelated by construction: dx = (−1, 0, 1), dy = (1, −2, 1).
  close(pearson([0, 1, 2], [1, -2, 1]), 0);
});

test('pearson: undefined cases give NaN; length mismatch throws', () => {
  assert.ok(Number.isNaN(pearson([1, 1, 1], [1, 2, 3])));
  assert.ok(Number.isNaN(pearson([1], [2])));
  assert.ok(Number.isNaN(pearson([], [])));
  assert.ok(Number.isNaN(pearson([1, NaN, 3], [1, 2, 3])));
  assert.throws(() => pearson([1, 2], [1, 2, 3]), RangeError);
  assert.throws(() => spearman([1, 2], [1]), RangeError);
});

test('ranks: 1-based, ties get the average rank, NaN stays NaN', () => {
  assert.deepEqual(Array.from(ranks([10, 20, 10, 30, 20])), [1.5, 3.5, 1.5, 5, 3.5]);
  assert.deepEqual(Array.from(ranks([3, 1, 2])), [3, 1, 2]);
  assert.deepEqual(Array.from(ranks([7, 7, 7])), [2, 2, 2]);
  assert.deepEqual(Array.from(ranks([-Infinity, 0, Infinity, Infinity])), [1, 2, 3.5, 3.5]);
  const withNaN = ranks([5, NaN, 1]);
  assert.equal(withNaN[0], 2);
  assert.ok(Number.isNaN(withNaN[1]));
  assert.equal(withNaN[2], 1);
  assert.equal(ranks([]).length, 0);
});

test('spearman: hand-computed values with and without ties', () => {
  // Monotone but non-linear: exactly ±1.
  const x = Array.from({ length: 10 }, (_, i) => i + 1);
  close(
    spearman(
      x,
      x.map((v) => v ** 3),
    ),
    1,
  );
  close(
    spearman(
      x,
      x.map((v) => Math.exp(-v)),
    ),
    -1,
  );
  // Ties: ranks (1, 2.5, 2.5, 4) vs (1, 3, 2, 4) ⇒ r = 4.5/√(4.5·5) = 3/√10.
  close(spearman([1, 2, 2, 3], [1, 3, 2, 4]), 3 / Math.sqrt(10));
  // No ties: 1 − 6Σd²/(n(n²−1)); ranks (1,2,3,4,5) vs (2,1,4,3,5): Σd² = 4 ⇒ 1 − 24/120 = 0.8.
  close(spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50]), 0.8);
  assert.ok(Number.isNaN(spearman([1, 2, 3], [4, 4, 4])));
});

test('topK / bottomK: order, ties resolved by lower index first', () => {
  const v = [3, 1, 3, 2, 5, 1];
  assert.deepEqual(topK(v, 1), [4]);
  assert.deepEqual(topK(v, 2), [4, 0]);
  assert.deepEqual(topK(v, 3), [4, 0, 2]);
  assert.deepEqual(topK(v, 10), [4, 0, 2, 3, 1, 5]);
  assert.deepEqual(bottomK(v, 2), [1, 5]);
  assert.deepEqual(bottomK(v, 4), [1, 5, 3, 0]);
  assert.deepEqual(topK(v, 0), []);
  assert.deepEqual(topK(v, -3), []);
  assert.deepEqual(topK([], 3), []);
  assert.deepEqual(topK([7, 7, 7, 7], 2), [0, 1]);
  assert.deepEqual(bottomK([7, 7, 7, 7], 3), [0, 1, 2]);
  // NaN is never selected; ±Infinity is ordered like any number.
  assert.deepEqual(topK([NaN, 1, Infinity, NaN, -Infinity], 5), [2, 1, 4]);
  assert.deepEqual(bottomK(new Float32Array([NaN, 1, Infinity, -Infinity]), 2), [3, 1]);
  assert.deepEqual(topK([0, -0, 0], 2), [0, 1]);
});

test('topK / bottomK: agree with a full sort on random data with many ties', () => {
  const rng = new Rng(42);
  const n = 5000;
  const values = Float64Array.from({ length: n }, () => Math.floor(rng.next() * 50) / 7);
  const byTop = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[b] - values[a] || a - b);
  const byBottom = Array.from({ length: n }, (_, i) => i).sort((a, b) => values[a] - values[b] || a - b);
  for (const k of [1, 10, 137, 4999, 5000]) {
    assert.deepEqual(topK(values, k), byTop.slice(0, k));
    assert.deepEqual(bottomK(values, k), byBottom.slice(0, k));
  }
});
