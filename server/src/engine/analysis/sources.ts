/**
 * Analysis 5, source over-representation: the share of each source (code, math, wiki, …) among a
 * query's top-k (and bottom-k) documents divided by its share in the whole corpus, for k on a
 * geometric ladder, averaged over the queries of each kind and task. 1 means "as in the corpus";
 * a source making up 10% of the corpus but all of the top 10 has a multiplier of 10. The paper:
 * code and math/StackExchange over-represented for reasoning, wiki for factual.
 */
import { kindOf, orderedKinds, taskKey, type QueryLabel } from './groups';

/** Label used for documents without a source. */
export const NO_SOURCE = '(none)';

/** The paper's geometric ladder. */
export const SOURCE_KS: readonly number[] = [10, 50, 500, 5000];

/**
 * k for a corpus of N documents: 10, 50, 500, 5000 and 1% and 5% of N (at least 1), keeping those
 * below N (at k = N every multiplier is 1).
 */
export function sourceLadder(documents: number): number[] {
  const ks = [...SOURCE_KS, Math.max(1, Math.ceil(documents / 100)), Math.max(1, Math.ceil(documents / 20))];
  return [...new Set(ks)].filter((k) => k < documents).sort((a, b) => a - b);
}

export interface SourceShare {
  source: string;
  documents: number;
  share: number;
}

/** Each source's count and share of the documents, largest first (ties by name). */
export function sourceShares(sources: readonly string[]): SourceShare[] {
  const counts = new Map<string, number>();
  for (const s of sources) counts.set(s || NO_SOURCE, (counts.get(s || NO_SOURCE) ?? 0) + 1);
  return [...counts]
    .map(([source, documents]) => ({ source, documents, share: documents / sources.length }))
    .sort((a, b) => b.documents - a.documents || (a.source < b.source ? -1 : 1));
}

/**
 * Share of each source among the first k of `order` (document positions) ÷ its corpus share. Sources
 * absent from the top k get 0. When `order` is shorter than k (NaN scores are never ranked) its
 * length is used.
 */
export function sourceMultipliers(order: readonly number[], sources: readonly string[], k: number, shares: readonly SourceShare[]): Map<string, number> {
  const n = Math.min(k, order.length);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = sources[order[i]] || NO_SOURCE;
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const { source, share } of shares) out.set(source, n > 0 ? (counts.get(source) ?? 0) / n / share : NaN);
  return out;
}

export interface SourceGroup {
  queries: number;
  /** source → mean multiplier per k (the ladder), among the top k and the bottom k documents. */
  top: Record<string, (number | null)[]>;
  bottom: Record<string, (number | null)[]>;
}

export interface SourceReport {
  ks: number[];
  sources: SourceShare[];
  byKind: Record<string, SourceGroup>;
  byTask: Record<string, SourceGroup>;
}

/**
 * The analysis: `top[q]` and `bottom[q]` are query q's documents (positions) from the highest and
 * from the lowest score, at least max(ks) of them; `sources[d]` is document d's source.
 */
export function sourceAnalysis(
  labels: readonly QueryLabel[],
  top: readonly (readonly number[])[],
  bottom: readonly (readonly number[])[],
  sources: readonly string[],
  ks: readonly number[],
): SourceReport {
  const ladder = [...new Set(ks)].filter((k) => k >= 1).sort((a, b) => a - b);
  const shares = sourceShares(sources);
  const perQuery = labels.map((_, i) => ({
    top: ladder.map((k) => sourceMultipliers(top[i], sources, k, shares)),
    bottom: ladder.map((k) => sourceMultipliers(bottom[i], sources, k, shares)),
  }));
  const group = (members: number[]): SourceGroup => {
    const average = (which: 'top' | 'bottom') => {
      const out: Record<string, (number | null)[]> = {};
      for (const { source } of shares) {
        out[source] = ladder.map((_, j) => {
          const v = members.map((i) => perQuery[i][which][j].get(source)!).filter(Number.isFinite);
          return v.length ? v.reduce((s, x) => s + x, 0) / v.length : null;
        });
      }
      return out;
    };
    return { queries: members.length, top: average('top'), bottom: average('bottom') };
  };
  const byKind: Record<string, SourceGroup> = {};
  const byTask: Record<string, SourceGroup> = {};
  for (const kind of orderedKinds(labels)) {
    const members = labels.map((_, i) => i).filter((i) => kindOf(labels[i]) === kind);
    byKind[kind] = group(members);
    const tasks = [...new Set(members.map((i) => labels[i].task).filter((t): t is string => t !== null))].sort();
    for (const task of tasks) byTask[taskKey(kind, task)] = group(members.filter((i) => labels[i].task === task));
  }
  return { ks: ladder, sources: shares, byKind, byTask };
}
