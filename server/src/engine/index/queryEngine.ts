/**
 * The in-process API a long-lived host (the language server) calls: everything loaded once, then one
 * query at a time — its own forward/backward pass plus one product over the index — with cancellation.
 */
import type { ComputePool } from '../backend/pool';
import { bottomK, topK } from '../analysis/stats';
import type { LoadedFactors } from '../ekfac/load';
import type { ResultsDocument } from '../results/types';
import { resolveQueries, type PreparedQuery } from '../score/queries';
import { queryGradients } from '../score/score';
import type { Tokenizer } from '../tokenizer/types';
import type { IndexSearcher } from './search';

export interface RankedDocument {
  document: ResultsDocument;
  /** Raw influence (index approximation). */
  score: number;
  /** score / nllNats. */
  perNat: number;
}

export interface IndexQueryResult {
  query: PreparedQuery;
  nllNats: number;
  /** Most helpful first. */
  top: RankedDocument[];
  /** Most harmful first. */
  bottom: RankedDocument[];
  /** Every document's raw score, in index order (for distributions). */
  scores: Float32Array;
}

export interface QueryEngineOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  stopIds: number[];
  factors: LoadedFactors;
  searcher: IndexSearcher;
  maxLen: number;
  maxNewTokens?: number;
  damping?: number;
}

export class IndexQueryEngine {
  constructor(private readonly o: QueryEngineOptions) {}

  get documents(): ResultsDocument[] {
    return this.o.searcher.documents;
  }

  async query(q: { prompt: string; completion?: string; id?: string }, opts: { top?: number; signal?: AbortSignal } = {}): Promise<IndexQueryResult> {
    const { pool, tokenizer, bos, stopIds, maxLen, searcher, factors } = this.o;
    const record = { id: q.id ?? 'query', prompt: q.prompt, completion: q.completion, file: '<editor>', line: 1 };
    const [prepared] = await resolveQueries([record], { pool, tokenizer, bos, stopIds, maxNewTokens: this.o.maxNewTokens ?? 64, maxLen, signal: opts.signal });
    const g = await queryGradients(pool, [prepared], 1, opts.signal);
    opts.signal?.throwIfAborted();
    const scores = await searcher.scan(searcher.queryVector(g.gradients[0], factors, this.o.damping), opts.signal);
    const nllNats = g.nll[0];
    const k = opts.top ?? 10;
    const rank = (d: number): RankedDocument => ({ document: searcher.documents[d], score: scores[d], perNat: scores[d] / nllNats });
    return { query: prepared, nllNats, top: topK(scores, k).map(rank), bottom: bottomK(scores, k).map(rank), scores };
  }
}
