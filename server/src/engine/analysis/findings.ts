/**
 * The paper's findings, side by side with a results folder's (docs/EVALUATION.md, section 3): each
 * quantitative claim of Ruis et al. (2024) as summarised in ANALYSES.md (what they report for the 7B and
 * 35B models), the measured value, whether its direction is the claimed one here, the test and its p-value.
 * A claim holds only where its direction is the claimed one and its test is significant (p < 0.05); in
 * the claimed direction but not significant, it is reported as such (findingsTable.ts), not as holding.
 * Every rate comes with its base rate: the answer-in-top-k rate beside the rate k random documents would
 * give (from how many documents contain each answer), and source multipliers beside their spread when
 * the top k are drawn at random (seeded simulation).
 */
import { Rng } from '../util/random';
import type { AnswerReport } from './answers';
import type { CorrelationReport } from './correlations';
import { finite, kindOf, type QueryLabel } from './groups';
import type { PowerLawReport } from './powerLaw';
import type { SourceReport } from './sources';
import { mean, welchT } from './stats';
import type { TotalInfluenceReport } from './totalInfluence';

export interface Finding {
  /** ANALYSES.md analysis number (1–5). */
  analysis: number;
  claim: string;
  /** What the paper reported. */
  paper: string;
  /** What was measured here (with the base rate where there is one). */
  measured: string;
  /** Whether the measured direction is the claimed one; null when it cannot be measured. */
  direction: boolean | null;
  /** Whether the claim holds here: the claimed direction, and its test significant (p < SIGNIFICANCE). */
  holds: boolean | null;
  test: string;
  p: number | null;
  /** Why it does or does not hold, from the data. */
  note?: string;
}

export interface FindingsInput {
  labels: readonly QueryLabel[];
  documents: number;
  correlations: CorrelationReport;
  powerLaw: PowerLawReport;
  totalInfluence: TotalInfluenceReport;
  answers: AnswerReport | { available: false; reason: string };
  sources: SourceReport;
  /** Per query (results order): how many corpus documents contain its answer; absent without the corpus text. */
  answerCounts?: (number | null)[];
  seed?: number;
  /** Random draws for the source multipliers' null spread (default 2000). */
  draws?: number;
}

/** The level below which a finding's test is significant. */
export const SIGNIFICANCE = 0.05;

/** A claim holds when its direction is the claimed one and its test is significant; null when unmeasured. */
export function claimHolds(direction: boolean | null, p: number | null): boolean | null {
  return direction === null ? null : direction && p !== null && p < SIGNIFICANCE;
}

/** A finding from its direction and test: `holds` follows from them (claimHolds). */
function finding(f: Omit<Finding, 'holds'>): Finding {
  return { ...f, holds: claimHolds(f.direction, f.p) };
}

/** P(at least one of k documents drawn at random from N contains the answer), m of N containing it. */
export function randomHitProbability(documents: number, containing: number, k: number): number {
  if (containing <= 0) return 0;
  let miss = 1;
  for (let i = 0; i < k; i++) miss *= Math.max(0, documents - containing - i) / (documents - i);
  return 1 - miss;
}

/** P(X = j), j = 0…n, for X a sum of independent Bernoulli(p_i) (Poisson binomial, exact by convolution). */
function poissonBinomial(ps: readonly number[]): number[] {
  let dist = [1];
  for (const p of ps) {
    const next = new Array<number>(dist.length + 1).fill(0);
    dist.forEach((v, j) => {
      next[j] += v * (1 - p);
      next[j + 1] += v * p;
    });
    dist = next;
  }
  return dist;
}

/** P(X ≥ x) for X a sum of independent Bernoulli(p_i). */
export function poissonBinomialTail(ps: readonly number[], x: number): number {
  return Math.min(
    1,
    poissonBinomial(ps)
      .slice(Math.max(0, x))
      .reduce((a, b) => a + b, 0),
  );
}

/** P(X ≤ x) for X a sum of independent Bernoulli(p_i). */
export function poissonBinomialHead(ps: readonly number[], x: number): number {
  return Math.min(
    1,
    poissonBinomial(ps)
      .slice(0, Math.max(0, x + 1))
      .reduce((a, b) => a + b, 0),
  );
}

/** The null spread of a kind's mean source multiplier at k: 2.5% and 97.5% quantiles and P(≥ observed). */
export function randomMultiplierSpread(
  documents: number,
  sourceCount: number,
  k: number,
  queries: number,
  observed: number,
  draws: number,
  rng: Rng,
): { lo: number; hi: number; p: number } {
  const share = sourceCount / documents;
  const means: number[] = [];
  const pool = Int32Array.from({ length: documents }, (_, i) => i);
  for (let t = 0; t < draws; t++) {
    let sum = 0;
    for (let q = 0; q < queries; q++) {
      let hits = 0;
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(rng.next() * (documents - i));
        const tmp = pool[i];
        pool[i] = pool[j];
        pool[j] = tmp;
        if (pool[i] < sourceCount) hits++;
      }
      sum += hits / k / share;
    }
    means.push(sum / queries);
  }
  means.sort((a, b) => a - b);
  const at = (f: number) => means[Math.min(draws - 1, Math.floor(f * draws))];
  return { lo: at(0.025), hi: at(0.975), p: (1 + means.filter((m) => m >= observed - 1e-12).length) / (1 + draws) };
}

const f2 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(2));
const f3 = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(3));
const pct = (x: number | null | undefined) => (x === null || x === undefined || !Number.isFinite(x) ? '–' : `${Math.round(100 * x)}%`);

/** A test's p-value, or null where there is none or it is not a number. */
const finiteP = (p: number | null | undefined) => (p === null || p === undefined ? null : finite(p));

/** Per query, the mean r with the other queries of its group (`same` says who is in it). */
function meanRWithin(c: CorrelationReport, members: number[], same: (i: number, j: number) => boolean): number[] {
  return members
    .map((i) => {
      const rs = members
        .filter((j) => j !== i && same(i, j))
        .map((j) => c.matrix[i][j])
        .filter((r): r is number => r !== null);
      return rs.length ? mean(rs) : NaN;
    })
    .filter(Number.isFinite);
}

export function findings(x: FindingsInput): Finding[] {
  const out: Finding[] = [];
  const { labels } = x;
  const idx = (kind: string) => labels.map((_, i) => i).filter((i) => kindOf(labels[i]) === kind);
  const factual = idx('factual');
  const reasoning = idx('reasoning');

  // 1. Correlations: reasoning queries of one task share influential documents; factual ones hardly.
  const fr = meanRWithin(x.correlations, factual, () => true);
  const rr = meanRWithin(x.correlations, reasoning, (i, j) => labels[i].task === labels[j].task);
  const g = (label: string) => x.correlations.groups.find((gr) => gr.label === label);
  const t1 = welchT(rr, fr);
  out.push(
    finding({
      analysis: 1,
      claim: 'Influence of reasoning queries of the same task is correlated (procedural knowledge); of factual queries, hardly',
      paper: 'mean r within factual ≈ 0.03–0.06; linear-equation queries ≈ 0.16; same-template reasoning pairs up to ≈ 0.9',
      measured: `mean r within factual ${f3(g('factual')?.meanR)}; within reasoning tasks ${['arithmetic', 'slopes', 'linear'].map((t) => `${t} ${f3(g(`reasoning/${t}`)?.meanR)}`).join(', ')}`,
      direction: fr.length > 1 && rr.length > 1 ? mean(rr) > mean(fr) : null,
      test: "Welch t, per-query mean r with its own task's queries (reasoning) vs with the other factual queries",
      p: finite(t1.p),
    }),
  );

  // 2. Power law of the top documents, a little steeper for reasoning.
  const pl = x.powerLaw;
  const af = pl.byKind.factual?.mean ?? null;
  const ar = pl.byKind.reasoning?.mean ?? null;
  out.push(
    finding({
      analysis: 2,
      claim: 'Top-k influence follows a power law, slightly steeper for reasoning',
      paper: 'α ≈ −0.33 to −0.38, reasoning slightly steeper',
      measured: `α factual ${f2(af)}, reasoning ${f2(ar)}`,
      direction: af !== null && ar !== null ? af < 0 && ar < 0 && ar < af : null,
      test: 'Welch t of α, factual vs reasoning',
      p: finiteP(pl.test?.p),
    }),
  );

  // 3. Total positive influence per nat: factual about twice reasoning.
  const ti = x.totalInfluence.headline;
  out.push(
    finding({
      analysis: 3,
      claim: 'Factual queries get more total positive influence per nat than reasoning ones',
      paper: 'factual ≈ 2× reasoning over all documents, for both models',
      measured: `factual ÷ reasoning ${f2(ti.ratio100)}× over all documents, ${f2(ti.ratio5)}× in the top 5%`,
      direction: ti.ratio100 !== null ? ti.ratio100 > 1 : null,
      test: 'Welch t of the totals, factual vs reasoning',
      p: finiteP(ti.test100?.p),
    }),
  );

  // 4. Answers in the top documents, beside the rate for k random documents.
  out.push(...answerFindings(x));

  // 5. Source over-representation, beside its spread under random rankings.
  out.push(...sourceFindings(x, reasoning.length, factual.length));
  return out;
}

/**
 * Factual: the answer is in the top k more often than in k random documents (the upper tail of the hits).
 * Reasoning ("almost never"): less often than in k random documents (the lower tail), so that it, too,
 * holds only on a significant test, never merely for lack of evidence against it.
 */
function answerFindings(x: FindingsInput): Finding[] {
  const a = x.answers;
  const claims: ['factual' | 'reasoning', string, string][] = [
    [
      'factual',
      'The answer to a factual query is often in its top documents',
      'factual: 55% (7B) / 30% (35B) of correctly answered queries at k = 500 of ~5M documents',
    ],
    ['reasoning', 'The answer to a reasoning query is almost never in its top documents (procedures, not answers, are retrieved)', 'reasoning: almost never'],
  ];
  if (!a.available || !x.answerCounts) {
    return claims.map(([, claim, paper]) =>
      finding({
        analysis: 4,
        claim,
        paper,
        measured: '–',
        direction: null,
        test: '–',
        p: null,
        note: a.available ? 'no corpus text for the base rate' : a.reason,
      }),
    );
  }
  const k = a.ks.includes(10) ? 10 : a.ks[0];
  const j = a.ks.indexOf(k);
  const byId = new Map(x.labels.map((q, i) => [q.id, i]));
  return claims.map(([kind, claim, paper]) => {
    const qs = a.perQuery.filter((q) => q.kind === kind);
    const correct = qs.filter((q) => q.completionHasAnswer);
    const base = (list: typeof qs) => list.map((q) => randomHitProbability(x.documents, x.answerCounts![byId.get(q.id)!] ?? 0, k));
    const hits = qs.filter((q) => q.hit[j]).length;
    const ps = base(qs);
    const rate = qs.length ? hits / qs.length : NaN;
    const baseRate = ps.length ? mean(ps) : NaN;
    const more = kind === 'factual';
    const p = qs.length ? (more ? poissonBinomialTail(ps, hits) : poissonBinomialHead(ps, hits)) : null;
    const correctRate = correct.length ? correct.filter((q) => q.hit[j]).length / correct.length : NaN;
    const measured = `${pct(rate)} of ${qs.length} queries at k = ${k} of ${x.documents} (random k documents: ${pct(baseRate)}); of the ${correct.length} whose completion contains the answer: ${pct(correctRate)} (random: ${pct(mean(base(correct)))})`;
    return finding({
      analysis: 4,
      claim,
      paper,
      measured,
      direction: qs.length ? (more ? rate > baseRate : rate < baseRate) : null,
      test: `one-sided exact test: ${more ? 'more' : 'fewer'} hits than k random documents per query would give (Poisson binomial)`,
      p,
      note: kind === 'reasoning' ? `${correct.length} of ${qs.length} reasoning completions contain the answer` : undefined,
    });
  });
}

function sourceFindings(x: FindingsInput, reasoningQueries: number, factualQueries: number): Finding[] {
  const s = x.sources;
  const k = s.ks.includes(50) ? 50 : s.ks[s.ks.length - 1];
  const j = s.ks.indexOf(k);
  const claims: [string, string, number, string][] = [
    ['reasoning', 'code', reasoningQueries, 'code over-represented among the top documents of reasoning queries'],
    ['reasoning', 'math', reasoningQueries, 'math (StackExchange/math) over-represented for reasoning queries'],
    ['factual', 'wiki', factualQueries, 'wiki over-represented for factual queries'],
  ];
  const rng = new Rng(x.seed ?? 0, 0xf1d5);
  return claims.map(([kind, source, queries, claim]) => {
    const observed = j >= 0 ? (s.byKind[kind]?.top[source]?.[j] ?? null) : null;
    const count = s.sources.find((c) => c.source === source)?.documents ?? 0;
    if (observed === null || count === 0 || queries === 0) {
      return finding({
        analysis: 5,
        claim,
        paper: 'code and StackExchange/math for reasoning; wiki for factual',
        measured: '–',
        direction: null,
        test: '–',
        p: null,
      });
    }
    const spread = randomMultiplierSpread(x.documents, count, k, queries, observed, x.draws ?? 2000, rng);
    return finding({
      analysis: 5,
      claim,
      paper: 'code and StackExchange/math for reasoning; wiki for factual (multipliers > 1 in the top k)',
      measured: `×${f2(observed)} in the top ${k} (random rankings: 95% of means within ×${f2(spread.lo)}–×${f2(spread.hi)})`,
      direction: observed > 1,
      test: `${x.draws ?? 2000} random top-${k} draws per query (seeded), one-sided`,
      p: spread.p,
    });
  });
}
