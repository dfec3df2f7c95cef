import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedInTopK, linearDatamodelingScore, meanSe, multiplierAtK, recallAtK, reciprocalRank } from '../../server/src/engine/eval/metrics';
import { Rng } from '../../server/src/engine/util/random';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('MRR and recall@k equal hand-computed values', () => {
  // Ranks by score: d3 (0.9), d0 (0.8), d4 (0.5), d1 (0.3), d2 (0.1), d5 (−1).
  const scores = [0.8, 0.3, 0.1, 0.9, 0.5, -1];
  close(reciprocalRank(scores, new Set([4, 2])), 1 / 3); // d4 at rank 3
  close(reciprocalRank(scores, new Set([3])), 1);
  assert.equal(reciprocalRank(scores, new Set()), 0);
  close(recallAtK(scores, new Set([4, 2]), 1), 0);
  close(recallAtK(scores, new Set([4, 2]), 3), 1 / 2);
  close(recallAtK(scores, new Set([4, 2]), 5), 1);
  assert.ok(Number.isNaN(recallAtK(scores, new Set(), 3)));
  // Multiplier: two of the top 2 are in a set of 3 out of 6 → (2/2)/(3/6) = 2.
  close(multiplierAtK(scores, new Set([3, 0, 5]), 2), 2);
});

test('ties count as a random order within the tie: expected rank, recall and multiplier', () => {
  // Four documents tied at 0, one relevant: its rank is 1…4 with probability 1/4 each.
  const flat = [0, 0, 0, 0];
  close(reciprocalRank(flat, new Set([2])), (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4);
  close(recallAtK(flat, new Set([2]), 2), 1 / 2);
  // Two relevant among four tied: first relevant at 1 w.p. 1/2, 2 w.p. 1/3, 3 w.p. 1/6.
  close(reciprocalRank(flat, new Set([0, 3])), 1 / 2 + 1 / 3 / 2 + 1 / 6 / 3);
  close(expectedInTopK([1, 0, 0, 0, 0], [1, 2], 3), 2 * (2 / 4));
  // Brute force over all orders of a tie agrees.
  const scores = [5, 2, 2, 2, 1];
  const relevant = new Set([2, 4]);
  const perms = [
    [1, 2, 3],
    [1, 3, 2],
    [2, 1, 3],
    [2, 3, 1],
    [3, 1, 2],
    [3, 2, 1],
  ];
  let rr = 0;
  for (const p of perms) {
    const order = [0, ...p, 4];
    rr += 1 / (order.findIndex((d) => relevant.has(d)) + 1);
  }
  close(reciprocalRank(scores, relevant), rr / perms.length);
});

test('an oracle attribution gets MRR and recall 1; the reversed one the worst possible', () => {
  const rng = new Rng(3, 1);
  const n = 200;
  const relevant = new Set<number>();
  while (relevant.size < 7) relevant.add(Math.floor(rng.next() * n));
  const oracle = Array.from({ length: n }, (_, d) => (relevant.has(d) ? 1 : 0));
  const reversed = oracle.map((x) => -x);
  close(reciprocalRank(oracle, relevant), 1);
  close(recallAtK(oracle, relevant, relevant.size), 1);
  // Reversed: the relevant documents fill the last 7 ranks; the first of them is at n − 6.
  close(reciprocalRank(reversed, relevant), 1 / (n - relevant.size + 1));
  close(recallAtK(reversed, relevant, n - relevant.size), 0);
  // Any other scoring lies in between.
  const random = Array.from({ length: n }, () => rng.next());
  const rr = reciprocalRank(random, relevant);
  assert.ok(rr <= 1 && rr >= 1 / (n - relevant.size + 1));
});

test('LDS: Spearman of −(summed scores over each subset) against measured losses; a planted linear model scores ≈ 1', () => {
  // Hand-computed: three subsets of four documents.
  const scores = [1, 2, 3, 4];
  const subsets = [
    [0, 1],
    [2, 3],
    [1, 2],
  ];
  // Sums 3, 7, 5 → predicted losses −3, −7, −5; measured losses ranked the same way → ρ = 1, reversed → −1.
  close(linearDatamodelingScore(scores, subsets, [10, 2, 6]), 1);
  close(linearDatamodelingScore(scores, subsets, [1, 9, 4]), -1);
  close(linearDatamodelingScore(scores, subsets, [10, 6, 2]), 0.5); // ranks (3,1,2) vs (3,2,1): ρ = 1 − 6·2/24

  // Planted: loss = c − Σ_{d∈S} θ_d + small noise; attributing θ recovers it.
  const rng = new Rng(11, 2);
  const n = 300;
  const theta = Array.from({ length: n }, () => rng.normal());
  const subsetsP: number[][] = Array.from({ length: 60 }, () => Array.from({ length: n }, (_, d) => d).filter(() => rng.next() < 0.5));
  const losses = subsetsP.map((s) => 5 - s.reduce((a, d) => a + theta[d], 0) + 0.01 * rng.normal());
  const lds = linearDatamodelingScore(theta, subsetsP, losses);
  assert.ok(lds > 0.99, `planted LDS ${lds}`);
  // The opposite sign convention would give ≈ −1; unrelated scores ≈ 0.
  assert.ok(
    linearDatamodelingScore(
      theta.map((x) => -x),
      subsetsP,
      losses,
    ) < -0.99,
  );
  const noise = Array.from({ length: n }, () => rng.normal());
  assert.ok(Math.abs(linearDatamodelingScore(noise, subsetsP, losses)) < 0.4);
});

test('mean ± standard error', () => {
  const m = meanSe([1, 2, 3, 4, NaN]);
  assert.equal(m.n, 4);
  close(m.mean, 2.5);
  close(m.se, Math.sqrt(5 / 3) / 2);
});
