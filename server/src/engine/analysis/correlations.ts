/**
 * Analysis 1, query-query correlation: Pearson's r between two queries' raw influence vectors over
 * all documents, for every pair (the Q×Q heatmap), and the mean r within and across groups of
 * queries with a significance test.
 *
 * The test. The r of the pairs in a group are not independent: with m queries there are m(m−1)/2
 * pairs but each query is in m−1 of them, so a t-test over the pairs would count the same evidence
 * many times over and overstate significance by far (a query unlike all others drags every one of
 * its pairs). The mean Fisher z = atanh(r) of the pairs (z makes r's skewed, bounded distribution
 * roughly normal) is a U-statistic over the queries, so its standard error comes from a jackknife over
 * queries: leave each query out, recompute the mean z of the remaining pairs,
 * SE² = (m−1)/m · Σ (θ₍ᵢ₎ − θ̄)², which accounts for the shared queries; t = mean z / SE, two-sided,
 * df = m − 1. It errs on the conservative side (Efron–Stein): in simulations with query-specific
 * effects (the realistic case) the 5% test rejected a true null about 1–6% of the time, with
 * independent noise rows under 1%; a t-test over pairs or over per-query means rejects too often.
 * Across two sets of queries the jackknife is two-sample (each set's leave-one-out terms summed) with
 * df = min(m_a, m_b) − 1. A group needs
 * at least 3 queries within (2 per side across) for a test. The p-values are approximate (the
 * jackknife is asymptotic, and documents are not independent either). Within groups a
 * label-permutation test complements it: is the group's mean r higher than that of random sets of
 * as many queries drawn from all queries (one-sided, seeded, so reproducible)? That asks whether the
 * group is more alike than queries in general, which is robust to a component common to all queries
 * (e.g. documents helpful to every query), something the test against 0 is not.
 */
import { Rng } from '../util/random';
import { fisherZ, studentTTwoSided } from './stats';
import type { TestResult } from '../../common/views';
import { finite, kindOf, orderedKinds, queriesOf, tasksOf, type QueryLabel } from './groups';

/**
 * Pearson's r for every pair of rows (each a query's scores over the same documents), computed in
 * float64 from centred, normalized rows. NaN for a constant row (r is undefined); 1 on the diagonal
 * otherwise.
 */
export function correlationMatrix(rows: readonly ArrayLike<number>[]): number[][] {
  const Q = rows.length;
  const N = Q === 0 ? 0 : rows[0].length;
  const unit: (Float64Array | null)[] = rows.map((row) => {
    if (row.length !== N) throw new RangeError(`correlationMatrix: rows have ${row.length} and ${N} values`);
    const u = Float64Array.from(row);
    let m = 0;
    for (let i = 0; i < N; i++) m += u[i];
    m /= N;
    let ss = 0;
    for (let i = 0; i < N; i++) {
      u[i] -= m;
      ss += u[i] * u[i];
    }
    if (!(ss > 0) || !Number.isFinite(ss)) return null;
    const s = 1 / Math.sqrt(ss);
    for (let i = 0; i < N; i++) u[i] *= s;
    return u;
  });
  const r: number[][] = Array.from({ length: Q }, () => new Array<number>(Q).fill(NaN));
  for (let a = 0; a < Q; a++) {
    const ua = unit[a];
    if (!ua) continue;
    r[a][a] = 1;
    for (let b = a + 1; b < Q; b++) {
      const ub = unit[b];
      if (!ub) continue;
      let dot = 0;
      for (let i = 0; i < N; i++) dot += ua[i] * ub[i];
      r[a][b] = r[b][a] = Math.max(-1, Math.min(1, dot));
    }
  }
  return r;
}

export interface GroupCorrelation {
  /** e.g. "factual", "reasoning/slopes", "reasoning: across tasks", "factual × reasoning". */
  label: string;
  /** within: pairs inside one set of queries; across: one query from each of two disjoint sets. */
  type: 'within' | 'across';
  /** The sets compared, as kind and task (null: every task of the kind). For "within" b equals a. */
  a: { kind: string; task: string | null };
  b: { kind: string; task: string | null };
  /** across tasks of one kind: pairs of the kind whose tasks differ. */
  differentTasks?: true;
  /** Queries with at least one pair whose r is defined. */
  queries: number;
  /** Pairs whose r is defined. */
  pairs: number;
  meanR: number | null;
  sdR: number | null;
  /** tanh of the mean Fisher z over pairs (a mean r less pulled by the skew near ±1). */
  meanRFromZ: number | null;
  /** t-test of the mean Fisher z against 0 with a jackknife-over-queries standard error (see the module comment). */
  test: TestResult;
  /** Within groups: one-sided permutation p-value of the mean r against random query sets of the same size. */
  permutationP?: number | null;
}

export interface CorrelationReport {
  /** Query ids, in results order: the rows and columns of `matrix`. */
  queries: string[];
  /** Pearson r, Q×Q; null where a query's scores are constant. */
  matrix: (number | null)[][];
  groups: GroupCorrelation[];
  permutations: number;
}

export interface CorrelationOptions {
  /** Label permutations for the within-group test (default 1000; 0: none). */
  permutations?: number;
  seed?: number;
}

/** The pairs (i < j) a group is made of. */
type PairSet = (i: number, j: number) => boolean;

/**
 * Mean r and mean Fisher z over the pairs of `members` that `inGroup` accepts, and the jackknife
 * t-test of the mean z. `side` (across two sets) makes the jackknife two-sample.
 */
function groupStats(r: number[][], members: number[], inGroup: PairSet, side?: (i: number) => 0 | 1): Omit<GroupCorrelation, 'label' | 'type' | 'a' | 'b'> {
  const rs: number[] = [];
  let zSum = 0;
  const perQuery = new Map<number, { z: number; n: number }>();
  for (let x = 0; x < members.length; x++) {
    for (let y = x + 1; y < members.length; y++) {
      const i = members[x];
      const j = members[y];
      if (!inGroup(i, j) || !Number.isFinite(r[i][j])) continue;
      rs.push(r[i][j]);
      const z = fisherZ(r[i][j]);
      zSum += z;
      for (const q of [i, j]) {
        const s = perQuery.get(q) ?? { z: 0, n: 0 };
        s.z += z;
        s.n++;
        perQuery.set(q, s);
      }
    }
  }
  const P = rs.length;
  const meanR = P ? rs.reduce((s, v) => s + v, 0) / P : NaN;
  const sdR = P > 1 ? Math.sqrt(rs.reduce((s, v) => s + (v - meanR) ** 2, 0) / (P - 1)) : NaN;
  const meanZ = P ? zSum / P : NaN;
  return {
    queries: perQuery.size,
    pairs: P,
    meanR: finite(meanR),
    sdR: finite(sdR),
    meanRFromZ: finite(Math.tanh(meanZ)),
    test: jackknifeTest(meanZ, zSum, P, perQuery, side),
  };
}

/** t-test of the mean z against 0, SE from the leave-one-query-out means (one- or two-sample). */
function jackknifeTest(meanZ: number, zSum: number, pairs: number, perQuery: Map<number, { z: number; n: number }>, side?: (i: number) => 0 | 1): TestResult {
  const none = { t: null, df: null, p: null };
  const sets: number[][] = [[], []];
  for (const [q, s] of perQuery) {
    if (s.n === pairs) return none; // leaving q out leaves no pair
    sets[side ? side(q) : 0].push((zSum - s.z) / (pairs - s.n));
  }
  const used = sets.filter((x) => x.length > 0);
  if (used.length !== (side ? 2 : 1) || used.some((x) => x.length < (side ? 2 : 3))) return none;
  let variance = 0;
  for (const thetas of used) {
    const m = thetas.length;
    const mean = thetas.reduce((a, b) => a + b, 0) / m;
    variance += ((m - 1) / m) * thetas.reduce((a, b) => a + (b - mean) ** 2, 0);
  }
  if (!(variance > 0) || !Number.isFinite(variance)) return none;
  const t = meanZ / Math.sqrt(variance);
  const df = Math.min(...used.map((x) => x.length)) - 1;
  return { t: finite(t), df, p: finite(studentTTwoSided(t, df)) };
}

/** Mean of the defined r over the pairs of `members`. */
function meanWithin(r: number[][], members: ArrayLike<number>): number {
  let s = 0;
  let n = 0;
  for (let x = 0; x < members.length; x++) {
    const row = r[members[x]];
    for (let y = x + 1; y < members.length; y++) {
      const v = row[members[y]];
      if (Number.isFinite(v)) {
        s += v;
        n++;
      }
    }
  }
  return n ? s / n : NaN;
}

/**
 * One-sided permutation p-value: how often a random set of `size` queries (drawn without
 * replacement from `pool`) has a mean within r at least `observed`; (1 + hits)/(1 + permutations).
 */
export function permutationP(r: number[][], pool: number[], size: number, observed: number, permutations: number, rng: Rng): number {
  if (!Number.isFinite(observed) || permutations <= 0 || size < 2 || size >= pool.length) return NaN;
  const work = pool.slice();
  const pick = new Int32Array(size);
  let hits = 0;
  for (let p = 0; p < permutations; p++) {
    // Partial Fisher–Yates: the first `size` entries become a uniform random subset.
    for (let i = 0; i < size; i++) {
      const j = i + Math.floor(rng.next() * (work.length - i));
      [work[i], work[j]] = [work[j], work[i]];
      pick[i] = work[i];
    }
    if (meanWithin(r, pick) >= observed - 1e-12) hits++;
  }
  return (1 + hits) / (1 + permutations);
}

/**
 * The correlation analysis: the matrix, then within each kind, within each task of a kind, across
 * the tasks of a kind (pairs of different tasks), and across each pair of kinds.
 */
export function correlationAnalysis(rows: readonly ArrayLike<number>[], labels: readonly QueryLabel[], options: CorrelationOptions = {}): CorrelationReport {
  if (rows.length !== labels.length) throw new RangeError(`correlationAnalysis: ${rows.length} rows for ${labels.length} queries`);
  const permutations = options.permutations ?? 1000;
  const seed = options.seed ?? 0;
  const r = correlationMatrix(rows);
  const all = labels.map((_, i) => i);
  const groups: GroupCorrelation[] = [];
  const within = (label: string, kind: string, task: string | null, members: number[]): void => {
    if (members.length < 2) return;
    const stats = groupStats(r, members, () => true);
    const observed = stats.meanR ?? NaN;
    const rng = new Rng(seed, groups.length + 1);
    groups.push({
      label,
      type: 'within',
      a: { kind, task },
      b: { kind, task },
      ...stats,
      permutationP: finite(permutationP(r, all, members.length, observed, permutations, rng)),
    });
  };
  const kinds = orderedKinds(labels);
  for (const kind of kinds) {
    within(kind, kind, null, queriesOf(labels, kind));
    const tasks = tasksOf(labels, kind);
    for (const task of tasks) within(`${kind}/${task}`, kind, task, queriesOf(labels, kind, task));
    if (tasks.length >= 2) {
      const members = queriesOf(labels, kind).filter((i) => labels[i].task !== null);
      const stats = groupStats(r, members, (i, j) => labels[i].task !== labels[j].task);
      if (stats.pairs > 0)
        groups.push({ label: `${kind}: across tasks`, type: 'across', a: { kind, task: null }, b: { kind, task: null }, differentTasks: true, ...stats });
    }
  }
  for (let x = 0; x < kinds.length; x++) {
    for (let y = x + 1; y < kinds.length; y++) {
      const members = [...queriesOf(labels, kinds[x]), ...queriesOf(labels, kinds[y])].sort((a, b) => a - b);
      const stats = groupStats(
        r,
        members,
        (i, j) => kindOf(labels[i]) !== kindOf(labels[j]),
        (i) => (kindOf(labels[i]) === kinds[x] ? 0 : 1),
      );
      if (stats.pairs > 0)
        groups.push({ label: `${kinds[x]} × ${kinds[y]}`, type: 'across', a: { kind: kinds[x], task: null }, b: { kind: kinds[y], task: null }, ...stats });
    }
  }
  return { queries: labels.map((q) => q.id), matrix: r.map((row) => row.map(finite)), groups, permutations };
}
