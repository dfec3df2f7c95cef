/**
 * One query's view: what the panel shows for a prompt and completion over the whole corpus (summary
 * numbers, the binned histogram, the sampled top-k curve with its power law, source over-representation
 * for a ladder of k) and the first page of the most helpful and most harmful documents. Not tied to a
 * results folder: the caller passes the scores (a results row, or a fresh scoring) and an opaque ref.
 */
import { documentsInTopPercent } from '../analysis/totalInfluence';
import type { LoadedResults, ResultsDocument, ResultsQuery } from '../results/types';
import { topKCurve } from './curve';
import { DEFAULT_BINS, histogram } from './histogram';
import { rankingOf } from './ranking';
import { SCORE_SECTION, scoreMeaning } from '../../common/scoreMeaning';
import { sourceLadder } from './sourceLadder';
import type { CardPage, DocumentCard, QueryMethod, QueryView, ScoreUnit, Side, ViewQuery } from '../../common/views';

export const DEFAULT_PAGE_SIZE = 10;
/** Percent of the documents whose share of the positive influence the summary gives. */
const TOP_PERCENTS = [1, 5, 10];

export type QueryInput = Pick<ResultsQuery, 'id' | 'kind' | 'task' | 'prompt' | 'completion' | 'nllNats' | 'generated'> & {
  answer?: string | null;
  promptTokens?: readonly number[];
  completionTokens?: readonly number[];
};

export interface QueryViewInput {
  /** The caller's id for this query (pages and the webview's requests carry it back). */
  ref: string;
  query: QueryInput;
  documents: readonly ResultsDocument[];
  /**
   * Raw scores of this query over `documents`, same order. Keep passing the same array (for pages):
   * its ranking is cached with it.
   */
  scores: Float32Array;
  method?: QueryMethod | null;
  /** Cards per page (default 10). */
  pageSize?: number;
  /** Histogram bins (even; default 60). */
  bins?: number;
  /** Power law: top documents fitted at most (default 500, as in the analysis). */
  maxRank?: number;
  /** k offered for source over-representation (default: 10, 20, 50, … and 1% and 5% of N). */
  ks?: readonly number[];
}

/** nllNats when it makes per-nat scores (positive, finite), else 1 (raw scores). */
function unitOf(query: QueryInput): { unit: ScoreUnit; divisor: number } {
  const n = query.nllNats;
  return n > 0 && Number.isFinite(n) ? { unit: 'perNat', divisor: n } : { unit: 'raw', divisor: 1 };
}

function viewQuery(q: QueryInput): ViewQuery {
  const out: ViewQuery = {
    id: q.id,
    kind: q.kind,
    task: q.task,
    prompt: q.prompt,
    completion: q.completion,
    nllNats: q.nllNats,
    generated: q.generated,
    answer: q.answer ?? null,
  };
  if (q.promptTokens) out.promptTokens = q.promptTokens.length;
  if (q.completionTokens) out.completionTokens = q.completionTokens.length;
  return out;
}

function card(input: QueryViewInput, side: Side, rank: number, position: number, perNat: boolean): DocumentCard {
  const d = input.documents[position];
  const score = input.scores[position];
  const c: DocumentCard = {
    side,
    rank,
    docIndex: d.index,
    id: d.id,
    source: d.source,
    score,
    perNat: perNat ? score / input.query.nllNats : null,
    tokens: d.tokens,
    file: d.file,
  };
  if (d.line !== undefined) c.line = d.line;
  if (d.exact !== undefined) c.exact = d.exact;
  return c;
}

/** Cards `offset` … `offset + limit − 1` (0-based ranks) of one side; without snippets (see ./snippet.ts). */
export function documentPage(input: QueryViewInput, side: Side, offset: number, limit: number): CardPage {
  if (input.scores.length !== input.documents.length) throw new RangeError(`${input.scores.length} scores for ${input.documents.length} documents`);
  const ranking = rankingOf(input.scores);
  const order = side === 'top' ? ranking.descending : ranking.ascending();
  const from = Math.max(0, Math.min(Math.floor(offset), order.length));
  const to = Math.min(order.length, from + Math.max(0, Math.floor(limit)));
  const perNat = unitOf(input.query).unit === 'perNat';
  const cards: DocumentCard[] = [];
  for (let i = from; i < to; i++) cards.push(card(input, side, i + 1, order[i], perNat));
  return { ref: input.ref, side, offset: from, total: order.length, cards };
}

export function buildQueryView(input: QueryViewInput): QueryView {
  const { scores, documents } = input;
  const N = documents.length;
  if (scores.length !== N) throw new RangeError(`${scores.length} scores for ${N} documents`);
  const { unit, divisor } = unitOf(input.query);
  const ranking = rankingOf(scores);
  const { descending, values } = ranking;
  const ascending = ranking.ascending();
  const ranked = values.length;

  // The scores in rank order: sums of prefixes, read in sequence.
  let totalPositive = 0;
  let totalNegative = 0;
  const topSums = TOP_PERCENTS.map((p) => ({ percent: p, documents: documentsInTopPercent(p, N), sum: 0 }));
  for (let i = 0; i < ranked; i++) {
    const v = values[i] / divisor;
    if (v > 0) {
      totalPositive += v;
      for (const t of topSums) if (i < t.documents) t.sum += v;
    } else totalNegative += v;
  }
  const pageSize = input.pageSize ?? DEFAULT_PAGE_SIZE;
  return {
    kind: 'query',
    ref: input.ref,
    query: viewQuery(input.query),
    method: input.method ?? null,
    unit,
    ...(unit === 'perNat' ? { meaning: { line: scoreMeaning(divisor), section: SCORE_SECTION } } : {}),
    documents: N,
    summary: {
      ranked,
      max: ranked ? values[0] / divisor : null,
      min: ranked ? values[ranked - 1] / divisor : null,
      totalPositive,
      totalNegative,
      topShares: topSums.map((t) => ({ percent: t.percent, documents: t.documents, share: totalPositive > 0 ? t.sum / totalPositive : null })),
    },
    histogram: histogram(scores, divisor, input.bins ?? DEFAULT_BINS),
    curve: topKCurve(values, divisor, input.maxRank ?? 500),
    sources: sourceLadder(documents, descending, ascending, input.ks),
    pageSize,
    top: documentPage(input, 'top', 0, pageSize),
    bottom: documentPage(input, 'bottom', 0, pageSize),
  };
}

// One subarray per query of a loaded folder, so that rankings cached with them are found again.
const rows = new WeakMap<LoadedResults, Float32Array[]>();

/** The input for query `q` of a results folder (the scores row is the same array on every call). */
export function queryViewInput(
  loaded: LoadedResults,
  q: number,
  ref: string,
  options: Pick<QueryViewInput, 'pageSize' | 'bins' | 'maxRank' | 'ks'> = {},
): QueryViewInput {
  const { results } = loaded;
  const N = results.documents.length;
  if (!(q >= 0 && q < results.queries.length)) throw new RangeError(`no query ${q} in ${loaded.dir}`);
  let cached = rows.get(loaded);
  if (!cached) rows.set(loaded, (cached = []));
  const scores = (cached[q] ??= loaded.scores.subarray(q * N, (q + 1) * N));
  const method: QueryMethod = { scoring: results.method.scoring, strategy: results.strategy, rank: results.rank };
  if (results.method.rerank !== undefined) method.rerank = results.method.rerank;
  return { ref, query: results.queries[q], documents: results.documents, scores, method, ...options };
}
