/**
 * Analysis 2, the power law of the top documents: a query's positive per-nat scores sorted
 * descending follow score ≈ C·rank^α; α comes from a least-squares fit of log(score) = c + α·log(rank)
 * over the top min(maxRank, #positive) documents (the paper: the top 500, α ≈ −0.33 to −0.38,
 * slightly steeper for reasoning). α does not depend on the per-nat scaling (it shifts c only).
 */
import { linearFit, welchT } from './stats';
import type { Summary, TestResult } from '../../common/views';
import { finite, kindOf, orderedKinds, summarize, taskKey, testResult, type QueryLabel } from './groups';

export interface PowerLawFit {
  alpha: number;
  /** c: log score at rank 1 of the fitted line (natural logs). */
  intercept: number;
  r2: number;
  /** Documents fitted. */
  points: number;
}

/** The positive values, largest first (NaN and non-positive values dropped). */
function positivesDescending(values: ArrayLike<number>): Float64Array {
  let n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > 0) n++;
  const out = new Float64Array(n);
  n = 0;
  for (let i = 0; i < values.length; i++) if (values[i] > 0) out[n++] = values[i];
  return out.sort().reverse();
}

/**
 * Fits log(score) = c + α·log(rank) to the top min(maxRank, #positive) positive values (ranks from 1);
 * null when fewer than minPoints values are positive.
 */
export function fitPowerLaw(values: ArrayLike<number>, maxRank = 500, minPoints = 5): PowerLawFit | null {
  const pos = positivesDescending(values);
  const m = Math.min(maxRank, pos.length);
  if (m < minPoints) return null;
  const x = new Float64Array(m);
  const y = new Float64Array(m);
  for (let i = 0; i < m; i++) {
    x[i] = Math.log(i + 1);
    y[i] = Math.log(pos[i]);
  }
  const fit = linearFit(x, y);
  return { alpha: fit.slope, intercept: fit.intercept, r2: fit.r2, points: m };
}

export interface PowerLawQuery {
  id: string;
  kind: string;
  task: string | null;
  alpha: number | null;
  intercept: number | null;
  r2: number | null;
  points: number;
  /** Documents with a positive score. */
  positive: number;
  /** Why there is no fit. */
  skipped?: string;
}

export interface PowerLawReport {
  maxRank: number;
  minPoints: number;
  perQuery: PowerLawQuery[];
  /** α mean ± sd over the fitted queries of each kind. */
  byKind: Record<string, Summary>;
  /** Likewise per "kind/task". */
  byTask: Record<string, Summary>;
  /** Welch's t-test of α, factual vs reasoning (null when either kind has fewer than two fits). */
  test: ({ a: string; b: string; meanDifference: number | null } & TestResult) | null;
}

/**
 * The power-law analysis over per-nat score rows (one per query).
 */
export function powerLawAnalysis(
  perNatRows: readonly ArrayLike<number>[],
  labels: readonly QueryLabel[],
  options: { maxRank?: number; minPoints?: number } = {},
): PowerLawReport {
  const maxRank = options.maxRank ?? 500;
  const minPoints = options.minPoints ?? 5;
  const perQuery: PowerLawQuery[] = perNatRows.map((row, i) => {
    const q = labels[i];
    let positive = 0;
    let finiteRow = true;
    for (let d = 0; d < row.length; d++) {
      if (row[d] > 0) positive++;
      if (!Number.isFinite(row[d])) finiteRow = false;
    }
    const base = { id: q.id, kind: kindOf(q), task: q.task, positive };
    if (!finiteRow) return { ...base, alpha: null, intercept: null, r2: null, points: 0, skipped: 'scores are not finite (is nllNats positive?)' };
    const fit = fitPowerLaw(row, maxRank, minPoints);
    if (!fit) return { ...base, alpha: null, intercept: null, r2: null, points: 0, skipped: `fewer than ${minPoints} positive scores` };
    return { ...base, alpha: finite(fit.alpha), intercept: finite(fit.intercept), r2: finite(fit.r2), points: fit.points };
  });
  const alphas = (pred: (q: PowerLawQuery) => boolean) => perQuery.filter((q) => pred(q) && q.alpha !== null).map((q) => q.alpha as number);
  const byKind: Record<string, Summary> = {};
  const byTask: Record<string, Summary> = {};
  for (const kind of orderedKinds(labels)) {
    byKind[kind] = summarize(alphas((q) => q.kind === kind));
    const tasks = [...new Set(perQuery.filter((q) => q.kind === kind && q.task !== null).map((q) => q.task as string))].sort();
    for (const task of tasks) byTask[taskKey(kind, task)] = summarize(alphas((q) => q.kind === kind && q.task === task));
  }
  const fa = alphas((q) => q.kind === 'factual');
  const re = alphas((q) => q.kind === 'reasoning');
  const test =
    fa.length >= 2 && re.length >= 2
      ? { a: 'factual', b: 'reasoning', meanDifference: finite(byKind.factual.mean! - byKind.reasoning.mean!), ...testResult(welchT(fa, re)) }
      : null;
  return { maxRank, minPoints, perQuery, byKind, byTask, test };
}
