/**
 * Analysis 5, source over-representation: the share of each source (code, math, wiki, …) among a
 * query's top-k (and bottom-k) documents divided by its share in the whole corpus, for k on a
 * geometric ladder, averaged over the queries of each kind and task. 1 means "as in the corpus";
 * a source making up 10% of the corpus but all of the top 10 has a multiplier of 10. The paper:
 * code and math/StackExchange over-represented for reasoning, wiki for factual.
 */
import type { SourceShare } from '../../common/views';
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

/** Sources named in analysis.json at most (the largest by corpus share); the rest are one aggregate. */
export const MAX_STORED_SOURCES = 20;

/** The sources the paper's findings name: kept by name however small (findings.ts looks them up). */
export const PAPER_SOURCES: readonly string[] = ['code', 'math', 'wiki'];

export interface SourceGroup {
  queries: number;
  /** source → mean multiplier per k (the ladder), among the top k and the bottom k documents. */
  top: Record<string, (number | null)[]>;
  bottom: Record<string, (number | null)[]>;
  /** The sources not named, together (present when the report has `other`). */
  other?: { top: (number | null)[]; bottom: (number | null)[] };
}

/** The labels not named, as one: how many, and their documents and corpus share together. */
export interface OtherSources {
  sources: number;
  documents: number;
  share: number;
}

export interface SourceReport {
  ks: number[];
  /** The sources named, largest first: the MAX_STORED_SOURCES largest and PAPER_SOURCES. */
  sources: SourceShare[];
  /**
   * Every other label together; null when each is named. Bounded so that thousands of distinct labels
   * do not make analysis.json (and everything that draws it) grow with them. Absent in reports
   * written before the bound, which named every source.
   */
  other?: OtherSources | null;
  byKind: Record<string, SourceGroup>;
  byTask: Record<string, SourceGroup>;
}

/**
 * Multipliers per k of the named sources (rows 0…named−1) and of the rest together (row `named`, when
 * `restShare` > 0), from one walk down `order`; NaN where no document is ranked.
 */
function prefixMultipliers(
  order: readonly number[],
  ladder: readonly number[],
  placeOf: Int32Array,
  shares: readonly SourceShare[],
  restShare: number,
): number[][] {
  const named = shares.length;
  const counts = new Float64Array(named + 1);
  const rows = Array.from({ length: restShare > 0 ? named + 1 : named }, () => new Array<number>(ladder.length).fill(NaN));
  let i = 0;
  ladder.forEach((k, j) => {
    const n = Math.min(k, order.length);
    for (; i < n; i++) {
      const p = placeOf[order[i]];
      counts[p < 0 ? named : p]++;
    }
    if (n === 0) return;
    for (let s = 0; s < named; s++) rows[s][j] = counts[s] / n / shares[s].share;
    if (restShare > 0) rows[named][j] = counts[named] / n / restShare;
  });
  return rows;
}

/**
 * The analysis: `top[q]` and `bottom[q]` are query q's documents (positions) from the highest and
 * from the lowest score, at least max(ks) of them; `sources[d]` is document d's source. The
 * `maxNamed` largest sources (and PAPER_SOURCES) are reported by name, the rest as `other`.
 */
export function sourceAnalysis(
  labels: readonly QueryLabel[],
  top: readonly (readonly number[])[],
  bottom: readonly (readonly number[])[],
  sources: readonly string[],
  ks: readonly number[],
  maxNamed = MAX_STORED_SOURCES,
): SourceReport {
  const ladder = [...new Set(ks)].filter((k) => k >= 1).sort((a, b) => a - b);
  const shares = sourceShares(sources);
  const named = shares.filter((s, i) => i < maxNamed || PAPER_SOURCES.includes(s.source));
  const rest = shares.filter((s, i) => !(i < maxNamed || PAPER_SOURCES.includes(s.source)));
  const other: OtherSources | null = rest.length
    ? { sources: rest.length, documents: rest.reduce((n, s) => n + s.documents, 0), share: rest.reduce((n, s) => n + s.share, 0) }
    : null;
  const place = new Map(named.map((s, i) => [s.source, i]));
  // Per document: its source's place among the named ones, or −1 (one of the rest).
  const placeOf = Int32Array.from(sources, (s) => place.get(s || NO_SOURCE) ?? -1);
  const restShare = other?.share ?? 0;
  const perQuery = labels.map((_, i) => ({
    top: prefixMultipliers(top[i], ladder, placeOf, named, restShare),
    bottom: prefixMultipliers(bottom[i], ladder, placeOf, named, restShare),
  }));
  const group = (members: number[]): SourceGroup => {
    // Mean over the members of row s, per k (null where no member has a value).
    const average = (which: 'top' | 'bottom', s: number) =>
      ladder.map((_, j) => {
        const v = members.map((i) => perQuery[i][which][s][j]).filter(Number.isFinite);
        return v.length ? v.reduce((sum, x) => sum + x, 0) / v.length : null;
      });
    const byName = (which: 'top' | 'bottom') => Object.fromEntries(named.map((x, s) => [x.source, average(which, s)]));
    const g: SourceGroup = { queries: members.length, top: byName('top'), bottom: byName('bottom') };
    if (other) g.other = { top: average('top', named.length), bottom: average('bottom', named.length) };
    return g;
  };
  const byKind: Record<string, SourceGroup> = {};
  const byTask: Record<string, SourceGroup> = {};
  for (const kind of orderedKinds(labels)) {
    const members = labels.map((_, i) => i).filter((i) => kindOf(labels[i]) === kind);
    byKind[kind] = group(members);
    const tasks = [...new Set(members.map((i) => labels[i].task).filter((t): t is string => t !== null))].sort();
    for (const task of tasks) byTask[taskKey(kind, task)] = group(members.filter((i) => labels[i].task === task));
  }
  return { ks: ladder, sources: named, other, byKind, byTask };
}
