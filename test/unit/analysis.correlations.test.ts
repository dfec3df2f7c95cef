/**
 * Analysis 1 (query-query correlation) on hand-made score matrices: identical rows give r = 1,
 * negated rows −1, group means and pair counts are exact, the t-test's SE is a jackknife over
 * queries, it holds its level on null data, and the permutation test singles out a group of alike
 * queries.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { correlationAnalysis, correlationMatrix } from '../../server/src/engine/analysis/correlations';
import { fisherZ, pearson, studentTTwoSided } from '../../server/src/engine/analysis/stats';
import type { QueryLabel } from '../../server/src/engine/analysis/groups';
import { Rng } from '../../server/src/engine/util/random';

const close = (a: number | null, b: number, tol = 1e-12) => assert.ok(a !== null && Math.abs(a - b) <= tol, `${a} vs ${b}`);

function randomRow(rng: Rng, n: number): number[] {
  return Array.from({ length: n }, () => rng.normal());
}

test('correlationMatrix: identical rows r = 1, anti-identical −1, affine maps keep r, constant rows NaN', () => {
  const a = [1, 4, 2, 8, 5, 7];
  const rows = [a, a.slice(), a.map((v) => -v), a.map((v) => 2 * v + 3), [3, 3, 3, 3, 3, 3], [1, 2, 3, 4, 5, 6]];
  const r = correlationMatrix(rows);
  close(r[0][1], 1);
  close(r[0][2], -1);
  close(r[0][3], 1);
  close(r[2][3], -1);
  for (let i = 0; i < rows.length; i++) {
    assert.ok(Number.isNaN(r[4][i]) && Number.isNaN(r[i][4]), 'constant row: undefined r');
    if (i !== 4) close(r[i][i], 1);
    for (let j = 0; j < rows.length; j++) if (i !== 4 && j !== 4) close(r[i][j], pearson(rows[i], rows[j]), 1e-14);
  }
  // Works on Float32Array views, as analyze passes them.
  const f = new Float32Array([...a, ...a]);
  close(correlationMatrix([f.subarray(0, 6), f.subarray(6)])[0][1], 1, 1e-7);
});

test('correlationAnalysis: within and across groups, pairs, means and the per-query z test', () => {
  const rng = new Rng(7);
  const N = 200;
  const base = randomRow(rng, N);
  const other = randomRow(rng, N);
  const labels: QueryLabel[] = [
    { id: 'f1', kind: 'factual', task: 'capitals' },
    { id: 'f2', kind: 'factual', task: 'capitals' },
    { id: 'r1', kind: 'reasoning', task: 'arithmetic' },
    { id: 'r2', kind: 'reasoning', task: 'arithmetic' },
    { id: 'r3', kind: 'reasoning', task: 'slopes' },
    { id: 'c1', kind: 'control', task: null },
  ];
  // Factual: identical rows. Arithmetic: anti-identical. The rest random.
  const rows = [base, base, other, other.map((v) => -v), randomRow(rng, N), randomRow(rng, N)];
  const rep = correlationAnalysis(rows, labels, { permutations: 200 });
  assert.deepEqual(rep.queries, ['f1', 'f2', 'r1', 'r2', 'r3', 'c1']);
  assert.equal(rep.matrix.length, 6);
  const g = (label: string) => {
    const found = rep.groups.find((x) => x.label === label);
    assert.ok(found, `group ${label} in ${rep.groups.map((x) => x.label).join(', ')}`);
    return found;
  };
  const factual = g('factual');
  assert.equal(factual.pairs, 1);
  assert.equal(factual.queries, 2);
  close(factual.meanR, 1);
  close(g('reasoning/arithmetic').meanR, -1);
  const r = correlationMatrix(rows);
  // Reasoning (all three): pairs (r1,r2), (r1,r3), (r2,r3).
  const reasoning = g('reasoning');
  assert.equal(reasoning.pairs, 3);
  close(reasoning.meanR, (r[2][3] + r[2][4] + r[3][4]) / 3);
  // Across tasks of reasoning: (r1,r3), (r2,r3).
  const across = g('reasoning: across tasks');
  assert.equal(across.pairs, 2);
  close(across.meanR, (r[2][4] + r[3][4]) / 2);
  // factual × reasoning: 2 × 3 pairs; the test's SE is a two-sample jackknife over queries.
  const fr = g('factual × reasoning');
  assert.equal(fr.pairs, 6);
  assert.equal(fr.queries, 5);
  const pairs: [number, number][] = [0, 1].flatMap((i) => [2, 3, 4].map((j): [number, number] => [i, j]));
  close(fr.meanR, pairs.reduce((s, [i, j]) => s + r[i][j], 0) / 6);
  const meanZ = (without: number) => {
    const kept = pairs.filter(([i, j]) => i !== without && j !== without);
    return kept.reduce((s, [i, j]) => s + fisherZ(r[i][j]), 0) / kept.length;
  };
  const jack = (side: number[]) => {
    const th = side.map(meanZ);
    const m = th.length;
    const mu = th.reduce((a, b) => a + b, 0) / m;
    return ((m - 1) / m) * th.reduce((a, b) => a + (b - mu) ** 2, 0);
  };
  const t = meanZ(-1) / Math.sqrt(jack([0, 1]) + jack([2, 3, 4]));
  close(fr.test.t, t, 1e-10);
  assert.equal(fr.test.df, 1, 'min(2, 3) − 1');
  close(fr.test.p, studentTTwoSided(t, 1), 1e-10);
  // Within reasoning (3 queries): one-sample jackknife, df = 2.
  const rz = [
    [3, 4],
    [2, 4],
    [2, 3],
  ].map(([i, j]) => fisherZ(r[i][j])); // leave out r1, r2, r3
  const rmu = rz.reduce((a, b) => a + b, 0) / 3;
  const rt = (fisherZ(r[2][3]) + fisherZ(r[2][4]) + fisherZ(r[3][4])) / 3 / Math.sqrt((2 / 3) * rz.reduce((a, b) => a + (b - rmu) ** 2, 0));
  close(reasoning.test.t, rt, 1e-10);
  assert.equal(reasoning.test.df, 2);
  // Two queries (one pair) cannot be tested.
  assert.deepEqual(factual.test, { t: null, df: null, p: null });
  assert.ok(g('factual × control').pairs === 2 && g('reasoning × control').pairs === 3);
  assert.equal(
    rep.groups.find((x) => x.label === 'control'),
    undefined,
    'a group of one query has no pairs',
  );
  // JSON-safe: no NaN anywhere.
  assert.doesNotMatch(JSON.stringify(rep), /NaN|Infinity/);
});

test('correlationAnalysis: the permutation test finds a group of alike queries, not a random one', () => {
  const rng = new Rng(3);
  const N = 300;
  const shared = randomRow(rng, N);
  const labels: QueryLabel[] = [];
  const rows: number[][] = [];
  for (let i = 0; i < 8; i++) {
    labels.push({ id: `f${i}`, kind: 'factual', task: null });
    rows.push(randomRow(rng, N)); // independent
  }
  for (let i = 0; i < 6; i++) {
    labels.push({ id: `r${i}`, kind: 'reasoning', task: 'linear' });
    const noise = randomRow(rng, N);
    rows.push(shared.map((v, d) => v + 0.5 * noise[d])); // r ≈ 0.8 with each other
  }
  const rep = correlationAnalysis(rows, labels, { permutations: 500, seed: 1 });
  const reasoning = rep.groups.find((x) => x.label === 'reasoning')!;
  const factual = rep.groups.find((x) => x.label === 'factual')!;
  assert.ok(reasoning.meanR! > 0.7, `alike group r ${reasoning.meanR}`);
  assert.ok(reasoning.test.p! < 1e-4, `alike group p ${reasoning.test.p}`);
  assert.ok(reasoning.permutationP! <= 2 / 501 + 1e-12, `permutation p ${reasoning.permutationP}`);
  assert.ok(Math.abs(factual.meanR!) < 0.05, `independent group r ${factual.meanR}`);
  assert.ok(factual.test.p! > 0.01, `independent group p ${factual.test.p}`);
  assert.ok(factual.permutationP! > 0.3, `independent group permutation p ${factual.permutationP}`);
  // Seeded: the same again.
  assert.deepEqual(correlationAnalysis(rows, labels, { permutations: 500, seed: 1 }), rep);
});

test('correlationAnalysis: the jackknife test does not reject a true null too often', () => {
  // Rows with query-specific loadings on a shared component (mean loading 0): E[r] = 0 for all pairs.
  const rng = new Rng(5);
  let rejected = 0;
  const runs = 200;
  for (let s = 0; s < runs; s++) {
    const common = randomRow(rng, 80);
    const rows = Array.from({ length: 20 }, () => {
      const c = rng.normal();
      return common.map((v) => c * v + rng.normal());
    });
    const labels = rows.map((_, i): QueryLabel => ({ id: `${i}`, kind: i < 10 ? 'factual' : 'reasoning', task: null }));
    const rep = correlationAnalysis(rows, labels, { permutations: 0 });
    if (rep.groups.find((x) => x.label === 'factual')!.test.p! < 0.05) rejected++;
  }
  assert.ok(rejected / runs <= 0.08, `rejected ${rejected} of ${runs} at the 5% level`);
});
