/**
 * Source over-representation for one query, for a ladder of k the user picks from: the share of each
 * source among the top (bottom) k ÷ its share in the corpus, as engine/analysis/sources.ts defines it
 * for the batch (one query instead of a kind's mean). One walk down each ranking counts the sources of
 * every prefix, so a million documents and k up to N/2 cost milliseconds.
 */
import { NO_SOURCE } from '../analysis/sources';
import { finite } from '../analysis/groups';
import type { ResultsDocument } from '../results/types';
import { MAX_SOURCES, otherShare } from './otherSources';
import type { SourceLadder, SourceShare } from '../../common/views';

/** 10, 20, 50, 100, 200, 500, … and 1% and 5% of N (at least 1), each below N. */
export function kLadder(documents: number): number[] {
  const ks = [Math.max(1, Math.ceil(documents / 100)), Math.max(1, Math.ceil(documents / 20))];
  for (let decade = 10; decade < documents; decade *= 10) ks.push(decade, 2 * decade, 5 * decade);
  return [...new Set(ks)].filter((k) => k < documents).sort((a, b) => a - b);
}

interface CorpusSources {
  shares: SourceShare[];
  /** Per document position: its source's place in `shares`. */
  sourceOf: Uint32Array;
}

// Per documents list (shared by every query of a results folder): computed once.
const cache = new WeakMap<readonly ResultsDocument[], CorpusSources>();

/** One pass over the documents (a million in ~40 ms; mapping names to places afterwards costs five times that). */
function corpusSources(documents: readonly ResultsDocument[]): CorpusSources {
  let c = cache.get(documents);
  if (!c) {
    const firstSeen = new Map<string, number>();
    const counts: number[] = [];
    const seen = new Uint32Array(documents.length);
    for (let d = 0; d < documents.length; d++) {
      const name = documents[d].source || NO_SOURCE;
      let id = firstSeen.get(name);
      if (id === undefined) firstSeen.set(name, (id = counts.push(0) - 1));
      counts[id]++;
      seen[d] = id;
    }
    // The order of engine/analysis/sources.ts sourceShares: most documents first, ties by name.
    const shares: SourceShare[] = [...firstSeen]
      .map(([source, id]) => ({ source, documents: counts[id], share: counts[id] / documents.length }))
      .sort((a, b) => b.documents - a.documents || (a.source < b.source ? -1 : 1));
    const place = new Uint32Array(counts.length);
    shares.forEach((s, i) => (place[firstSeen.get(s.source)!] = i));
    for (let d = 0; d < seen.length; d++) seen[d] = place[seen[d]];
    c = { shares, sourceOf: seen };
    cache.set(documents, c);
  }
  return c;
}

/**
 * Multipliers per source (shown ones, then `other` for the rest together) and k, from the first max(k)
 * entries of `order`.
 */
function multipliers(
  order: ArrayLike<number>,
  ladder: readonly number[],
  corpus: CorpusSources,
  shown: number,
  other?: SourceShare,
): Record<string, (number | null)[]> {
  const { shares, sourceOf } = corpus;
  const counts = new Float64Array(shares.length);
  const rows = other ? [...shares.slice(0, shown), other] : shares.slice(0, shown);
  const out = rows.map(() => new Array<number | null>(ladder.length).fill(null));
  let i = 0;
  let rest = 0; // documents of the sources not shown, among the first n
  ladder.forEach((k, j) => {
    const n = Math.min(k, order.length);
    for (; i < n; i++) {
      const s = sourceOf[order[i]];
      counts[s]++;
      if (s >= shown) rest++;
    }
    if (n === 0) return;
    for (let s = 0; s < shown; s++) out[s][j] = finite(counts[s] / n / shares[s].share);
    if (other) out[shown][j] = finite(rest / n / other.share);
  });
  return Object.fromEntries(out.map((values, s) => [rows[s].source, values]));
}

/** Multipliers from a ranking (`descending`/`ascending` positions) for the ladder `ks` (default kLadder(N)). */
export function sourceLadder(
  documents: readonly ResultsDocument[],
  descending: ArrayLike<number>,
  ascending: ArrayLike<number>,
  ks?: readonly number[],
): SourceLadder {
  const corpus = corpusSources(documents);
  const ladder = [...new Set(ks ?? kLadder(documents.length))].filter((k) => k >= 1).sort((a, b) => a - b);
  const shown = Math.min(MAX_SOURCES, corpus.shares.length);
  const other = corpus.shares.length > shown ? otherShare(corpus.shares.slice(shown)) : undefined;
  return {
    ks: ladder,
    sources: other ? [...corpus.shares.slice(0, shown), other] : corpus.shares.slice(0, shown),
    otherSources: corpus.shares.length - shown,
    top: multipliers(descending, ladder, corpus, shown, other),
    bottom: multipliers(ascending, ladder, corpus, shown, other),
    defaultK: ladder.includes(50) ? 50 : (ladder[Math.floor(ladder.length / 2)] ?? 0),
  };
}
