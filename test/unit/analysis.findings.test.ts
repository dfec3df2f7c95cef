/**
 * The paper's findings side by side: a claim holds only when its direction is the claimed one and its
 * test is significant (p < 0.05); in the claimed direction but not significant it says so, with its p.
 * p-values in sentences read "p < …", never "p = < …" (the CLI's text and the panel's).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AnswerReport } from '../../server/src/engine/analysis/answers';
import type { CorrelationReport } from '../../server/src/engine/analysis/correlations';
import {
  claimHolds,
  findings,
  poissonBinomialHead,
  poissonBinomialTail,
  randomHitProbability,
  type Finding,
  type FindingsInput,
} from '../../server/src/engine/analysis/findings';
import { findingsMarkdown, findingsText, verdict } from '../../server/src/engine/analysis/findingsTable';
import type { QueryLabel } from '../../server/src/engine/analysis/groups';
import { pEquals as cliPEquals } from '../../server/src/engine/analysis/pValues';
import type { PowerLawReport } from '../../server/src/engine/analysis/powerLaw';
import type { SourceReport } from '../../server/src/engine/analysis/sources';
import { welchT } from '../../server/src/engine/analysis/stats';
import type { TotalInfluenceReport } from '../../server/src/engine/analysis/totalInfluence';
import { pEquals as panelPEquals } from '../../webview/src/format';

const LABELS: QueryLabel[] = [
  ...['f1', 'f2', 'f3'].map((id) => ({ id, kind: 'factual', task: 'capitals' })),
  ...['r1', 'r2', 'r3'].map((id) => ({ id, kind: 'reasoning', task: 'arithmetic' })),
];

/** Queries 0–2 factual, 3–5 reasoning of one task; `pairs` sets r for each pair (symmetric). */
function correlations(pairs: [number, number, number][]): CorrelationReport {
  const matrix: number[][] = LABELS.map((_, i) => LABELS.map((__, j) => (i === j ? 1 : 0)));
  for (const [i, j, r] of pairs) matrix[i][j] = matrix[j][i] = r;
  return { matrix, groups: [] } as unknown as CorrelationReport;
}

const FACTUAL_PAIRS: [number, number, number][] = [
  [0, 1, 0.0],
  [0, 2, 0.1],
  [1, 2, 0.3],
];

function input(over: Partial<FindingsInput> = {}): FindingsInput {
  return {
    labels: LABELS,
    documents: 1000,
    // Per-query mean r: factual 0.05, 0.15, 0.2; reasoning 0.3, 0.1, 0.4: higher, far from significant.
    correlations: correlations([...FACTUAL_PAIRS, [3, 4, 0.0], [3, 5, 0.6], [4, 5, 0.2]]),
    powerLaw: {
      byKind: { factual: { mean: -1.0 }, reasoning: { mean: -1.2 } },
      test: { a: 'factual', b: 'reasoning', t: 1.4, df: 4, p: 0.147 },
    } as unknown as PowerLawReport,
    totalInfluence: { headline: { ratio100: 2, ratio5: 1.5, test100: { t: 40, df: 4, p: 0 } } } as unknown as TotalInfluenceReport,
    answers: { available: false, reason: 'no corpus' },
    sources: {
      ks: [50],
      sources: ['code', 'math', 'wiki'].map((source) => ({ source, documents: 100 })),
      byKind: { reasoning: { top: { code: [0.5], math: [3] } }, factual: { top: { wiki: [1.02] } } },
    } as unknown as SourceReport,
    draws: 400,
    ...over,
  };
}

const byClaim = (fs: Finding[], start: string) => fs.find((f) => f.claim.startsWith(start))!;

test('a claim in the claimed direction holds only on a significant test; otherwise "direction as claimed, not significant (p = …)"', () => {
  const fs = findings(input());
  const corr = byClaim(fs, 'Influence of reasoning');
  assert.ok(welchT([0.3, 0.1, 0.4], [0.05, 0.15, 0.2]).p > 0.05, 'the fixture is not significant');
  assert.equal(corr.direction, true);
  assert.equal(corr.holds, false, 'a higher mean r alone does not make the claim hold');
  const power = byClaim(fs, 'Top-k influence');
  assert.deepEqual([power.direction, power.holds, power.p], [true, false, 0.147]);
  const total = byClaim(fs, 'Factual queries get more');
  assert.deepEqual([total.direction, total.holds], [true, true]);
  // Sources: ×0.5 is the wrong direction; ×3 is significant; ×1.02 is within the random spread.
  assert.deepEqual([byClaim(fs, 'code').direction, byClaim(fs, 'code').holds], [false, false]);
  assert.deepEqual([byClaim(fs, 'math').direction, byClaim(fs, 'math').holds], [true, true]);
  const wiki = byClaim(fs, 'wiki');
  assert.ok(wiki.p! > 0.05, `wiki p ${wiki.p}`);
  assert.deepEqual([wiki.direction, wiki.holds], [true, false]);
  for (const f of fs.filter((f) => f.analysis === 4)) assert.deepEqual([f.direction, f.holds], [null, null]);

  const text = findingsText(fs).join('\n');
  assert.match(text, /Influence of reasoning[^\n]*: direction as claimed, not significant \(p = 0\.\d{3}\)\n/);
  assert.match(text, /Top-k influence[^\n]*: direction as claimed, not significant \(p = 0\.147\)\n/);
  assert.match(text, /Factual queries get more[^\n]*: holds \(p < 1e-300\)\n/, 'p = 0 reads "p < 1e-300"');
  assert.match(text, /code over-represented[^\n]*: does not hold \(p = /);
  assert.match(text, /math \(StackExchange\/math\)[^\n]*: holds \(p = /);
  assert.match(text, /wiki over-represented[^\n]*: direction as claimed, not significant \(p = /);
  assert.doesNotMatch(text, /p = </);
  assert.equal((text.match(/: holds \(/g) ?? []).length, fs.filter((f) => f.holds).length);

  const md = findingsMarkdown(fs);
  assert.match(md, /\| Top-k influence [^\n]* \| direction as claimed, not significant \| Welch t of α, factual vs reasoning \| 0\.147 \|/);
  assert.match(md, /\| Factual queries get more [^\n]* \| holds \| /);
});

test('significant in the claimed direction: the claim holds', () => {
  // Reasoning queries of the task agree closely (r 0.9): per-query means 0.9 against 0.05–0.2.
  const fs = findings(input({ correlations: correlations([...FACTUAL_PAIRS, [3, 4, 0.9], [3, 5, 0.9], [4, 5, 0.9]]) }));
  const corr = byClaim(fs, 'Influence of reasoning');
  assert.ok(corr.p! < 0.05, `p ${corr.p}`);
  assert.deepEqual([corr.direction, corr.holds], [true, true]);
  assert.match(findingsText(fs).join('\n'), /Influence of reasoning[^\n]*: holds \(p = /);
});

test('answers in the top documents: factual above chance, reasoning below it, each on its own one-sided test', () => {
  const ids = (kind: string, n: number) => Array.from({ length: n }, (_, i) => `${kind[0]}${i + 1}`);
  const labels: QueryLabel[] = [
    ...ids('factual', 5).map((id) => ({ id, kind: 'factual', task: null })),
    ...ids('reasoning', 5).map((id) => ({ id, kind: 'reasoning', task: null })),
  ];
  // 1 of 100 documents holds each factual answer, 3 each reasoning answer: k = 10 random documents hold it
  // with p ≈ 0.1 and ≈ 0.27. Every factual query has its answer in its top 10; one reasoning query does.
  const answerCounts = labels.map((q) => (q.kind === 'factual' ? 1 : 3));
  const perQuery = labels.map((q, i) => ({ id: q.id, kind: q.kind, completionHasAnswer: true, hit: [q.kind === 'factual' || i === 5] }));
  const answers = { available: true, ks: [10], perQuery } as unknown as AnswerReport;
  const fs = findings(
    input({
      labels,
      documents: 100,
      answers,
      answerCounts,
      correlations: { matrix: labels.map(() => labels.map(() => 0)), groups: [] } as unknown as CorrelationReport,
    }),
  );
  const [factual, reasoning] = fs.filter((f) => f.analysis === 4);
  assert.equal(factual.p, poissonBinomialTail(Array(5).fill(randomHitProbability(100, 1, 10)), 5));
  assert.deepEqual([factual.direction, factual.holds], [true, true]);
  // 1 hit of 5 where chance gives ≈ 1.35: fewer, as claimed, but P(X ≤ 1) ≈ 0.6 is far from significant
  // (it used to hold merely for not being above chance).
  const q = randomHitProbability(100, 3, 10);
  assert.equal(reasoning.p, poissonBinomialHead(Array(5).fill(q), 1));
  assert.ok(reasoning.p! > 0.05);
  assert.deepEqual([reasoning.direction, reasoning.holds], [true, false]);
  assert.match(reasoning.test, /fewer hits than k random documents/);
  assert.match(findingsText(fs).join('\n'), /almost never in its top documents[^\n]*: direction as claimed, not significant \(p = 0\.\d{3}\)/);
  // No reasoning answer among 20 such queries: significantly fewer than chance, so it holds.
  const labels20: QueryLabel[] = Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, kind: 'reasoning', task: null }));
  const none = findings(
    input({
      labels: labels20,
      documents: 100,
      answers: {
        available: true,
        ks: [10],
        perQuery: labels20.map((l) => ({ id: l.id, kind: 'reasoning', completionHasAnswer: false, hit: [false] })),
      } as unknown as AnswerReport,
      answerCounts: labels20.map(() => 3),
      correlations: { matrix: labels20.map(() => labels20.map(() => 0)), groups: [] } as unknown as CorrelationReport,
    }),
  ).find((f) => f.analysis === 4 && f.claim.includes('reasoning'))!;
  assert.ok(none.p! < 0.05, `p ${none.p}`);
  assert.deepEqual([none.direction, none.holds], [true, true]);
});

test('verdicts and p-values in sentences', () => {
  assert.equal(claimHolds(true, 0.049), true);
  assert.equal(claimHolds(true, 0.05), false);
  assert.equal(claimHolds(false, 1e-9), false);
  assert.equal(claimHolds(true, null), false);
  assert.equal(claimHolds(null, 0.01), null);
  assert.equal(verdict({ direction: true, holds: false, p: 0.3 }), 'direction as claimed, not significant');
  assert.equal(verdict({ direction: true, holds: false, p: null }), 'direction as claimed, not tested');
  assert.equal(verdict({ direction: false, holds: false, p: 0.01 }), 'does not hold');
  assert.equal(verdict({ direction: null, holds: null, p: null }), 'n/a');
  // Poisson binomial tails: P(X ≤ x) + P(X ≥ x + 1) = 1.
  assert.ok(Math.abs(poissonBinomialHead([0.5, 0.2], 0) - 0.4) < 1e-12);
  assert.ok(Math.abs(poissonBinomialHead([0.5, 0.2], 1) + poissonBinomialTail([0.5, 0.2], 2) - 1) < 1e-12);
  // The CLI: three decimals or scientific, and "<" where the p-value underflows.
  assert.equal(cliPEquals(0.1469), 'p = 0.147');
  assert.equal(cliPEquals(2.3e-6), 'p = 2.3e-6');
  assert.equal(cliPEquals(0), 'p < 1e-300');
  assert.equal(cliPEquals(null), 'p = –');
  // The panel and the HTML report: two significant digits, "p < 0.001" below that.
  assert.equal(panelPEquals(0.0123), 'p = 0.012');
  assert.equal(panelPEquals(2e-5), 'p < 0.001');
  assert.equal(panelPEquals(0), 'p < 0.001');
});
