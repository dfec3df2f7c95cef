/**
 * What an HTML report inlines: the batch view, every query's view, the first cards of each side with
 * snippets, and the text of those documents. Two steps, so that the caller reads the corpus once in
 * between: reportViews (no text) → documentsOf (which texts) → withTexts.
 */
import type { AnalysisReport } from '../analysis/analyze';
import type { LoadedResults } from '../results/types';
import { TOOL_VERSION } from '../version';
import { buildBatchView, defaultQueryRef } from './batchView';
import { buildQueryView, documentPage, queryViewInput } from './queryView';
import { snippetFor } from './snippet';
import type { DocumentCard, ReportData } from '../../common/views';

/** Cards per side and query a report inlines by default. */
export const DEFAULT_REPORT_CARDS = 30;
/** Characters of a document's text a report keeps (for "Open document"). */
export const REPORT_TEXT_CHARS = 4000;

export type ReportViews = Omit<ReportData, 'texts'>;

export function reportViews(loaded: LoadedResults, analysis: AnalysisReport, options: { cards?: number; title?: string } = {}): ReportViews {
  const cards = options.cards ?? DEFAULT_REPORT_CARDS;
  const batch = buildBatchView(loaded, analysis, { refFor: defaultQueryRef, title: options.title });
  const queries: ReportData['queries'] = {};
  const inlined: ReportData['cards'] = {};
  loaded.results.queries.forEach((_, q) => {
    const ref = defaultQueryRef(q);
    const input = queryViewInput(loaded, q, ref, { maxRank: analysis.powerLaw.maxRank });
    const view = buildQueryView(input);
    inlined[ref] = { top: documentPage(input, 'top', 0, cards).cards, bottom: documentPage(input, 'bottom', 0, cards).cards };
    view.top.available = inlined[ref].top.length;
    view.bottom.available = inlined[ref].bottom.length;
    queries[ref] = view;
  });
  return { batch, queries, cards: inlined, generatedBy: TOOL_VERSION };
}

function allCards(views: ReportViews): DocumentCard[] {
  return Object.values(views.cards).flatMap((c) => [...c.top, ...c.bottom]);
}

/** Corpus indices of the documents whose text the report shows. */
export function documentsOf(views: ReportViews): Set<number> {
  return new Set(allCards(views).map((c) => c.docIndex));
}

/** The report data with snippets on every card (the start of the text: per-token influence is not stored) and the texts. */
export function withTexts(views: ReportViews, text: (docIndex: number) => string | undefined): ReportData {
  const texts: Record<string, string> = {};
  const attach = (c: DocumentCard): DocumentCard => {
    const t = text(c.docIndex);
    if (t === undefined) return c;
    texts[c.docIndex] ??= t.length > REPORT_TEXT_CHARS ? `${t.slice(0, REPORT_TEXT_CHARS)}…` : t;
    return { ...c, snippet: snippetFor(t, { side: c.side }) };
  };
  const cards = Object.fromEntries(Object.entries(views.cards).map(([ref, c]) => [ref, { top: c.top.map(attach), bottom: c.bottom.map(attach) }]));
  // The views' first pages are the inlined cards' heads: give them the same snippets.
  const queries = Object.fromEntries(
    Object.entries(views.queries).map(([ref, v]) => [
      ref,
      { ...v, top: { ...v.top, cards: v.top.cards.map(attach) }, bottom: { ...v.bottom, cards: v.bottom.cards.map(attach) } },
    ]),
  );
  return { ...views, queries, cards, texts };
}
