/**
 * Bounding what is drawn of the sources: the largest MAX_SOURCES by corpus share, and the rest as one
 * "N other sources" entry. A corpus with thousands of distinct labels otherwise puts a line, a bar and a
 * table row per label into the panel and the report (30,000 labels: a page that never finished loading).
 */
import type { SourceGroup, SourceReport } from '../analysis/sources';
import type { BatchView, SourceShare } from '../../common/views';

/** Sources shown at most (the largest by corpus share); the rest are one "other" entry. */
export const MAX_SOURCES = 20;

/** The entry that stands for `rest` together (and `labels` labels, default one each): their documents and corpus share summed. */
export function otherShare(rest: readonly SourceShare[], labels = rest.length): SourceShare {
  let documents = 0;
  let share = 0;
  for (const s of rest) {
    documents += s.documents;
    share += s.share;
  }
  return { source: `${labels.toLocaleString('en-US')} other sources`, documents, share };
}

type Multipliers = Record<string, (number | null)[]>;

/**
 * The multiplier of several entries together at each k: their share among the top k ÷ their share in
 * the corpus, which is the corpus-share-weighted mean of their own multipliers (a mean over queries keeps
 * this, as a query's multipliers are all defined or all undefined at a k).
 */
function otherMultipliers(parts: readonly { share: number; values: readonly (number | null)[] | undefined }[], ks: number): (number | null)[] {
  return Array.from({ length: ks }, (_, j) => {
    let weighted = 0;
    let share = 0;
    for (const p of parts) {
      const v = p.values?.[j];
      if (v === null || v === undefined) continue;
      weighted += p.share * v;
      share += p.share;
    }
    return share > 0 ? weighted / share : null;
  });
}

/**
 * The batch analyses' sources for drawing: at most MAX_SOURCES of them, plus one entry for the others
 * (the named sources beyond MAX_SOURCES and the report's own `other`, which analysis.json stores).
 */
export function boundedSources(s: Pick<SourceReport, 'ks' | 'sources' | 'byKind' | 'other'>, max = MAX_SOURCES): BatchView['sources'] {
  const shown = s.sources.slice(0, max);
  const rest = s.sources.slice(max);
  const stored = s.other ?? null;
  const labels = rest.length + (stored?.sources ?? 0);
  const other = labels ? otherShare(stored ? [...rest, { source: '', documents: stored.documents, share: stored.share }] : rest, labels) : undefined;
  const pick = (g: SourceGroup, which: 'top' | 'bottom'): Multipliers => {
    const values = g[which];
    const out: Multipliers = {};
    for (const x of shown) out[x.source] = values[x.source] ?? s.ks.map(() => null);
    if (other) {
      const parts: { share: number; values: readonly (number | null)[] | undefined }[] = rest.map((x) => ({ share: x.share, values: values[x.source] }));
      if (stored) parts.push({ share: stored.share, values: g.other?.[which] });
      out[other.source] = otherMultipliers(parts, s.ks.length);
    }
    return out;
  };
  const byKind: BatchView['sources']['byKind'] = {};
  for (const [kind, g] of Object.entries(s.byKind)) byKind[kind] = { queries: g.queries, top: pick(g, 'top'), bottom: pick(g, 'bottom') };
  return { ks: s.ks, sources: other ? [...shown, other] : shown, byKind };
}
