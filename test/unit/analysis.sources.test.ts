/**
 * Analysis 5 (source over-representation): a source with 10% of the corpus filling the whole top 10
 * has multiplier 10; half of it gives 5; bottom-k likewise; the ladder and the per-kind average.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceAnalysis, sourceLadder, sourceMultipliers, sourceShares } from '../../server/src/engine/analysis/sources';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import type { QueryLabel } from '../../server/src/engine/analysis/groups';

const close = (a: number | null | undefined, b: number, tol = 1e-12) => assert.ok(a != null && Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('sourceLadder: 10, 50, 500, 5000 and 1%, 5% of N, below N', () => {
  assert.deepEqual(sourceLadder(100_000), [10, 50, 500, 1000, 5000]);
  assert.deepEqual(sourceLadder(3000), [10, 30, 50, 150, 500]);
  assert.deepEqual(sourceLadder(100), [1, 5, 10, 50]);
  assert.deepEqual(sourceLadder(8), [1]);
  assert.deepEqual(sourceLadder(1), []);
});

test('sourceShares and sourceMultipliers', () => {
  const sources = [...new Array(10).fill('code'), ...new Array(30).fill('wiki'), ...new Array(60).fill('web')];
  const shares = sourceShares(sources);
  assert.deepEqual(
    shares.map((s) => [s.source, s.documents, s.share]),
    [
      ['web', 60, 0.6],
      ['wiki', 30, 0.3],
      ['code', 10, 0.1],
    ],
  );
  const m = sourceMultipliers([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 50], sources, 10, shares);
  close(m.get('code'), 10);
  assert.equal(m.get('wiki'), 0);
  assert.equal(m.get('web'), 0);
  // Unlabelled documents count as "(none)".
  assert.deepEqual(
    sourceShares(['', 'a', '']).map((s) => s.source),
    ['(none)', 'a'],
  );
});

test('sourceAnalysis: a source planted in the top k gets the right multiplier, averaged per kind', () => {
  const N = 100;
  const sources = Array.from({ length: N }, (_, d) => (d < 10 ? 'code' : d < 40 ? 'wiki' : 'web'));
  // q0: code documents score highest, web lowest. q1: the top 10 are 5 code and 5 wiki.
  const q0 = Array.from({ length: N }, (_, d) => (d < 10 ? 100 - d : d < 40 ? 50 : -d));
  const q1 = Array.from({ length: N }, (_, d) => (d < 5 || (d >= 10 && d < 15) ? 100 - d : 0));
  const labels: QueryLabel[] = [
    { id: 'q0', kind: 'reasoning', task: 'arithmetic' },
    { id: 'q1', kind: 'reasoning', task: 'slopes' },
  ];
  const rows = [q0, q1];
  const rep = sourceAnalysis(
    labels,
    rows.map((r) => topK(r, 50)),
    rows.map((r) => bottomK(r, 50)),
    sources,
    [10, 50],
  );
  assert.deepEqual(rep.ks, [10, 50]);
  const arithmetic = rep.byTask['reasoning/arithmetic'];
  close(arithmetic.top.code[0], 10);
  assert.equal(arithmetic.top.wiki[0], 0);
  // Top 50 of q0: 10 code, 30 wiki, 10 web → code 0.2/0.1, wiki 0.6/0.3, web 0.2/0.6.
  close(arithmetic.top.code[1], 2);
  close(arithmetic.top.wiki[1], 2);
  close(arithmetic.top.web[1], 1 / 3);
  // Bottom 10 of q0: all web → 1/0.6.
  close(arithmetic.bottom.web[0], 1 / 0.6);
  const slopes = rep.byTask['reasoning/slopes'];
  close(slopes.top.code[0], 5);
  close(slopes.top.wiki[0], 0.5 / 0.3);
  // The kind averages its queries.
  const reasoning = rep.byKind.reasoning;
  assert.equal(reasoning.queries, 2);
  close(reasoning.top.code[0], 7.5);
  close(reasoning.top.wiki[0], (0 + 0.5 / 0.3) / 2);
});
