/**
 * Analysis 3, total influence per nat: for a query, the sum of its positive per-nat scores within
 * the top p% of documents (by score), for p on a grid from 0 to 100; absolute, and relative to the
 * query's total positive influence (the sum at 100%). The paper: factual queries get about twice
 * the total positive influence per nat of reasoning queries.
 */
import { welchT } from './stats';
import type { Summary, TestResult } from '../../common/views';
import { finite, kindOf, orderedKinds, summarize, testResult, type QueryLabel } from './groups';

/** Percentiles of documents (x axis of the curve). */
export const PERCENT_GRID: readonly number[] = [0, 1, 2, 5, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100];

/** Documents in the top p% of N: ⌈p·N/100⌉ (at least one for any p > 0), at most N. */
export function documentsInTopPercent(percent: number, documents: number): number {
  if (!(percent > 0)) return 0;
  return Math.min(documents, Math.max(1, Math.ceil((percent * documents) / 100 - 1e-9)));
}

export interface InfluenceCurve {
  /** Sum of positive scores in the top p% of documents, per grid point. */
  absolute: number[];
  /** absolute ÷ totalPositive (NaN when the total is 0). */
  relative: number[];
  totalPositive: number;
}

/** The curve for one query's scores (per nat); NaN scores are ignored (all NaN: a NaN curve). */
export function positiveInfluenceCurve(values: ArrayLike<number>, grid: readonly number[] = PERCENT_GRID): InfluenceCurve {
  const n = values.length;
  // Sorted descending, positives come first: the positive sum of the top c documents is a prefix sum.
  const sorted = Float64Array.from(values).sort().reverse(); // NaN sorts last, so first after reverse…
  const vals = sorted.filter((v) => !Number.isNaN(v)); // …and is dropped here
  if (vals.length === 0) return { absolute: grid.map(() => NaN), relative: grid.map(() => NaN), totalPositive: NaN };
  const prefix = new Float64Array(vals.length + 1);
  for (let i = 0; i < vals.length; i++) prefix[i + 1] = prefix[i] + Math.max(0, vals[i]);
  const total = prefix[vals.length];
  const absolute = grid.map((p) => prefix[Math.min(vals.length, documentsInTopPercent(p, n))]);
  return { absolute, relative: absolute.map((a) => (total > 0 ? a / total : NaN)), totalPositive: total };
}

export interface TotalInfluenceQuery {
  id: string;
  kind: string;
  task: string | null;
  totalPositive: number | null;
  absolute: (number | null)[];
  relative: (number | null)[];
}

export interface TotalInfluenceReport {
  /** Percent grid (x). */
  percents: number[];
  perQuery: TotalInfluenceQuery[];
  /** Mean ± sd per kind at each grid point. */
  byKind: Record<string, { absolute: Summary[]; relative: Summary[] }>;
  /** The headline: per kind at 100% and at 5% (absolute; relative at 5%), and factual ÷ reasoning. */
  headline: {
    at100: Record<string, Summary>;
    at5: Record<string, Summary>;
    relativeAt5: Record<string, Summary>;
    /** mean(factual) ÷ mean(reasoning), at 100% and at 5%. */
    ratio100: number | null;
    ratio5: number | null;
    /** Welch's t-test of the totals at 100%, factual vs reasoning. */
    test100: TestResult | null;
  };
}

/** The analysis over per-nat rows (one per query). The grid should contain 5 and 100 for the headline. */
export function totalInfluenceAnalysis(
  perNatRows: readonly ArrayLike<number>[],
  labels: readonly QueryLabel[],
  grid: readonly number[] = PERCENT_GRID,
): TotalInfluenceReport {
  const percents = [...new Set([...grid, 5, 100])].sort((a, b) => a - b);
  const curves = perNatRows.map((row) => positiveInfluenceCurve(row, percents));
  const perQuery: TotalInfluenceQuery[] = curves.map((c, i) => ({
    id: labels[i].id,
    kind: kindOf(labels[i]),
    task: labels[i].task,
    totalPositive: finite(c.totalPositive),
    absolute: c.absolute.map(finite),
    relative: c.relative.map(finite),
  }));
  const at = (p: number) => percents.indexOf(p);
  const byKind: TotalInfluenceReport['byKind'] = {};
  const at100: Record<string, Summary> = {};
  const at5: Record<string, Summary> = {};
  const relativeAt5: Record<string, Summary> = {};
  const column = (kind: string, j: number, which: 'absolute' | 'relative') => curves.filter((_, i) => kindOf(labels[i]) === kind).map((c) => c[which][j]);
  for (const kind of orderedKinds(labels)) {
    byKind[kind] = {
      absolute: percents.map((_, j) => summarize(column(kind, j, 'absolute'))),
      relative: percents.map((_, j) => summarize(column(kind, j, 'relative'))),
    };
    at100[kind] = byKind[kind].absolute[at(100)];
    at5[kind] = byKind[kind].absolute[at(5)];
    relativeAt5[kind] = byKind[kind].relative[at(5)];
  }
  const ratio = (s: Record<string, Summary>) => (s.factual?.mean != null && s.reasoning?.mean ? finite(s.factual.mean / s.reasoning.mean) : null);
  const fa = column('factual', at(100), 'absolute').filter(Number.isFinite);
  const re = column('reasoning', at(100), 'absolute').filter(Number.isFinite);
  return {
    percents,
    perQuery,
    byKind,
    headline: {
      at100,
      at5,
      relativeAt5,
      ratio100: ratio(at100),
      ratio5: ratio(at5),
      test100: fa.length >= 2 && re.length >= 2 ? testResult(welchT(fa, re)) : null,
    },
  };
}
