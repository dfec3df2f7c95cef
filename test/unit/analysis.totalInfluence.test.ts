/**
 * Analysis 3 (total positive influence per nat) on constructed rows: the top-p% document counts,
 * the absolute and relative curves, the per-kind summaries and the factual ÷ reasoning headline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { documentsInTopPercent, positiveInfluenceCurve, totalInfluenceAnalysis } from '../../server/src/engine/analysis/totalInfluence';
import type { QueryLabel } from '../../server/src/engine/analysis/groups';
import { welchT } from '../../server/src/engine/analysis/stats';

const close = (a: number | null | undefined, b: number, tol = 1e-12) => assert.ok(a != null && Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('documentsInTopPercent: ⌈p·N/100⌉, at least one for p > 0, at most N', () => {
  assert.equal(documentsInTopPercent(0, 50), 0);
  assert.equal(documentsInTopPercent(5, 30), 2);
  assert.equal(documentsInTopPercent(1, 30), 1);
  assert.equal(documentsInTopPercent(10, 1000), 100);
  assert.equal(documentsInTopPercent(7, 100), 7);
  assert.equal(documentsInTopPercent(100, 30), 30);
  assert.equal(documentsInTopPercent(150, 30), 30);
});

test('positiveInfluenceCurve: sums of the positive scores in the top p%', () => {
  // Sorted: 5, 3, 2, 1, 0, 0, 0, 0, −1, −4; total positive 11.
  const row = [5, -1, 3, 0, 2, -4, 1, 0, 0, 0];
  const c = positiveInfluenceCurve(row, [0, 10, 20, 50, 100]);
  assert.deepEqual(c.absolute, [0, 5, 8, 11, 11]);
  c.relative.forEach((v, i) => close(v, [0, 5 / 11, 8 / 11, 1, 1][i]));
  assert.equal(c.totalPositive, 11);
  // NaN is ignored; an all-negative row has zero total and undefined relative values.
  assert.deepEqual(positiveInfluenceCurve([NaN, 2, -1], [0, 50, 100]).absolute, [0, 2, 2]);
  const neg = positiveInfluenceCurve([-1, -2], [50, 100]);
  assert.deepEqual(neg.absolute, [0, 0]);
  assert.ok(neg.relative.every(Number.isNaN));
  assert.ok(positiveInfluenceCurve([NaN, NaN], [100]).absolute.every(Number.isNaN));
});

test('totalInfluenceAnalysis: per query, per kind, and the 100% / 5% headline', () => {
  const N = 40;
  // Query q has positive scores s·(1, 1/2, …, 1/10) on 10 documents, the rest −0.1.
  const row = (s: number) => Array.from({ length: N }, (_, d) => (d < 10 ? s / (d + 1) : -0.1));
  const H10 = Array.from({ length: 10 }, (_, i) => 1 / (i + 1)).reduce((a, b) => a + b, 0);
  const labels: QueryLabel[] = [
    { id: 'f1', kind: 'factual', task: null },
    { id: 'f2', kind: 'factual', task: null },
    { id: 'r1', kind: 'reasoning', task: 'arithmetic' },
    { id: 'r2', kind: 'reasoning', task: 'slopes' },
  ];
  const scales = [4, 6, 2, 3];
  const rep = totalInfluenceAnalysis(scales.map(row), labels, [0, 10, 50, 100]);
  assert.deepEqual(rep.percents, [0, 5, 10, 50, 100], '5 is added for the headline');
  // Top 5% of 40 = 2 documents: s·(1 + 1/2); top 10% = 4 documents.
  rep.perQuery.forEach((q, i) => {
    close(q.totalPositive, scales[i] * H10);
    close(q.absolute[1], scales[i] * 1.5);
    close(q.absolute[2], scales[i] * (1 + 1 / 2 + 1 / 3 + 1 / 4));
    close(q.relative[1], 1.5 / H10);
    close(q.relative[4], 1);
  });
  close(rep.headline.at100.factual.mean, 5 * H10);
  close(rep.headline.at100.factual.sd, Math.SQRT2 * H10);
  close(rep.headline.at100.reasoning.mean, 2.5 * H10);
  close(rep.headline.at5.factual.mean, 7.5);
  close(rep.headline.relativeAt5.reasoning.mean, 1.5 / H10);
  close(rep.headline.ratio100, 2);
  close(rep.headline.ratio5, 2);
  const t = welchT([4 * H10, 6 * H10], [2 * H10, 3 * H10]);
  close(rep.headline.test100!.p, t.p);
  assert.equal(rep.byKind.factual.absolute.length, 5);
  close(rep.byKind.reasoning.absolute[0].mean, 0);
});
