/**
 * The in-process API a long-lived host (the language server) calls: everything loaded once, then one
 * query at a time — its own forward/backward pass plus one product over the index — with cancellation.
 */
import type { IndexPool } from './tasks';
import type { Priority } from '../worker/taskPool';
import { bottomK, topK } from '../util/topK';
import type { LoadedFactors } from '../ekfac/load';
import type { ResultsDocument } from '../results/types';
import { resolveQueries, type PreparedQuery } from '../score/queries';
import type { Tokenizer } from '../tokenizer/types';
import type { IndexSearcher } from './search';
import { IndexQueryEncoder } from './queryVectors';

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
  /** Where the time went: the query's forward/backward pass and rotation, and the scan. */
  timings: { encodeMs: number; scanMs: number };
}

export interface QueryEngineOptions {
  pool: IndexPool;
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
  private constructor(
    private readonly o: QueryEngineOptions,
    private readonly encoder: IndexQueryEncoder,
  ) {}

  /** Uploads the index's eigenbases to the pool's threads (the searcher holds the rows). */
  static async create(o: QueryEngineOptions): Promise<IndexQueryEngine> {
    return new IndexQueryEngine(o, await IndexQueryEncoder.create(o.pool, o.searcher.manifest, o.factors, o.damping));
  }

  get documents(): ResultsDocument[] {
    return this.o.searcher.documents;
  }

  async query(q: { prompt: string; completion?: string; id?: string }, opts: { top?: number; signal?: AbortSignal } = {}): Promise<IndexQueryResult> {
    const { pool, tokenizer, bos, stopIds, maxLen, searcher } = this.o;
    const record = { id: q.id ?? 'query', prompt: q.prompt, completion: q.completion, file: '<editor>', line: 1 };
    const [prepared] = await resolveQueries([record], { pool, tokenizer, bos, stopIds, maxNewTokens: this.o.maxNewTokens ?? 64, maxLen, signal: opts.signal });
    const { scores, nllNats, timings } = await this.search(prepared, opts);
    const k = opts.top ?? 10;
    const rank = (d: number): RankedDocument => ({ document: searcher.documents[d], score: scores[d], perNat: scores[d] / nllNats });
    return { query: prepared, nllNats, top: topK(scores, k).map(rank), bottom: bottomK(scores, k).map(rank), scores, timings };
  }

  /** A prepared query's approximate scores over every indexed document (index order) and its completion loss. */
  async search(
    prepared: PreparedQuery,
    o: { signal?: AbortSignal; priority?: Priority } = {},
  ): Promise<{ scores: Float32Array; nllNats: number; timings: IndexQueryResult['timings'] }> {
    const t0 = performance.now();
    const encoded = await this.encoder.encode([prepared], { batchSize: 1, signal: o.signal, priority: o.priority });
    o.signal?.throwIfAborted();
    const t1 = performance.now();
    const scores = await this.o.searcher.scan(encoded.queries[0], o.signal, o.priority);
    return { scores, nllNats: encoded.nll[0], timings: { encodeMs: t1 - t0, scanMs: performance.now() - t1 } };
  }
}
