/**
 * Analysis 2 (power law of the top documents): a perfect power law score = C·rank^α, shuffled among
 * negative and zero scores, gives back α and C; the fit window, the minimum of 5 positives, and the
 * per-kind summary with Welch's t-test (scipy value).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitPowerLaw, powerLawAnalysis } from '../../server/src/engine/analysis/powerLaw';
import type { QueryLabel } from '../../server/src/engine/analysis/groups';
import { Rng } from '../../server/src/engine/util/random';

const close = (a: number | null | undefined, b: number, tol = 1e-10) => assert.ok(a != null && Math.abs(a - b) <= tol, `${a} vs ${b}`);

/** C·rank^α for ranks 1…positives, plus `negatives` negative and two zero scores, shuffled. */
function powerLawRow(C: number, alpha: number, positives: number, negatives: number, seed: number): number[] {
  const row = [...Array.from({ length: positives }, (_, i) => C * (i + 1) ** alpha), ...Array.from({ length: negatives }, (_, i) => -(i + 1)), 0, 0];
  const rng = new Rng(seed);
  for (let i = row.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [row[i], row[j]] = [row[j], row[i]];
  }
  return row;
}

test('fitPowerLaw recovers α and C of a perfect power law', () => {
  const fit = fitPowerLaw(powerLawRow(3, -0.37, 80, 40, 1))!;
  close(fit.alpha, -0.37);
  close(fit.intercept, Math.log(3));
  close(fit.r2, 1);
  assert.equal(fit.points, 80);
  // Only the top maxRank are fitted; the law holds there too.
  const top20 = fitPowerLaw(powerLawRow(0.01, -1.2, 80, 5, 2), 20)!;
  assert.equal(top20.points, 20);
  close(top20.alpha, -1.2);
  // Beyond the window the values do not matter: break the law after rank 10.
  const row = Array.from({ length: 30 }, (_, i) => (i < 10 ? 5 * (i + 1) ** -0.5 : 1e-9 / (i + 1)));
  close(fitPowerLaw(row, 10)!.alpha, -0.5);
  assert.ok(Math.abs(fitPowerLaw(row, 30)!.alpha + 0.5) > 0.5, 'the full range is not a power law');
});

test('fitPowerLaw needs at least 5 positive scores', () => {
  assert.equal(fitPowerLaw([4, 3, 2, 1, 0, -1, -2]), null);
  assert.notEqual(fitPowerLaw([4, 3, 2, 1, 0.5, -1, -2]), null);
  assert.equal(fitPowerLaw([5, 4, 3, 2, 1], 500, 6), null);
  assert.equal(fitPowerLaw([NaN, NaN, 1, 2]), null);
});

test('powerLawAnalysis: α per query, mean ± sd per kind and task, Welch factual vs reasoning', () => {
  const spec: [QueryLabel, number][] = [
    [{ id: 'f1', kind: 'factual', task: 'capitals' }, -0.3],
    [{ id: 'f2', kind: 'factual', task: 'capitals' }, -0.35],
    [{ id: 'f3', kind: 'factual', task: 'elements' }, -0.4],
    [{ id: 'r1', kind: 'reasoning', task: 'arithmetic' }, -0.5],
    [{ id: 'r2', kind: 'reasoning', task: 'arithmetic' }, -0.55],
    [{ id: 'r3', kind: 'reasoning', task: 'slopes' }, -0.45],
    [{ id: 'r4', kind: 'reasoning', task: 'slopes' }, -0.6],
  ];
  const rows = spec.map(([, a], i) => powerLawRow(2 + i, a, 60, 30, 10 + i));
  const labels = spec.map(([l]) => l);
  labels.push({ id: 'c1', kind: 'control', task: null });
  rows.push([1, 2, -3, 0, 0, 0, 0, 0, 0, 0, ...new Array(82).fill(-1)]); // 2 positives: skipped
  const rep = powerLawAnalysis(rows, labels);
  spec.forEach(([, a], i) => close(rep.perQuery[i].alpha, a));
  assert.equal(rep.perQuery[7].alpha, null);
  assert.match(rep.perQuery[7].skipped!, /fewer than 5/);
  assert.equal(rep.perQuery[7].positive, 2);
  close(rep.byKind.factual.mean, -0.35);
  close(rep.byKind.factual.sd, 0.05);
  assert.equal(rep.byKind.reasoning.n, 4);
  close(rep.byKind.reasoning.mean, -0.525);
  assert.deepEqual(rep.byKind.control, { n: 0, mean: null, sd: null });
  close(rep.byTask['reasoning/slopes'].mean, -0.525);
  close(rep.byTask['factual/capitals'].mean, -0.325);
  // scipy.stats.ttest_ind([-0.3, -0.35, -0.4], [-0.5, -0.55, -0.45, -0.6], equal_var=False)
  close(rep.test!.t, 4.041451884327382, 1e-8);
  close(rep.test!.df, 4.959183673469387, 1e-8);
  close(rep.test!.p, 0.010076943347988851, 1e-8);
  close(rep.test!.meanDifference, 0.175);
});

test('powerLawAnalysis: non-finite rows are skipped; no test without two fits per kind', () => {
  const rep = powerLawAnalysis(
    [new Array(10).fill(NaN), powerLawRow(1, -0.4, 10, 0, 1)],
    [
      { id: 'a', kind: 'factual', task: null },
      { id: 'b', kind: 'reasoning', task: null },
    ],
  );
  assert.match(rep.perQuery[0].skipped!, /not finite/);
  close(rep.perQuery[1].alpha, -0.4);
  assert.equal(rep.test, null);
});
