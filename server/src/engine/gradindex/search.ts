/**
 * Scoring against the index: a query (quantizeQuery) dotted with each document's row. Rows live
 * in scan memories when they fit the budget — split over the compute threads when opened on a pool, so a
 * query uses every core — else each query streams the chunks from disk (on every compute thread, each
 * reading its own chunks, when opened on a pool), so an index larger than RAM still answers.
 */
import { totalmem } from 'node:os';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import type { ResultsDocument } from '../results/types';
import type { IndexPool } from './tasks';
import type { Priority } from '../worker/taskPool';
import { SCAN_MEMORY_LIMIT } from './kernel/scanMemory';
import { readDocuments, readManifest } from './store';
import { ChunkScanner, chunksOfPart, scannerBytes, type IndexQuery } from './scan';
import { bytesPerRow, queryLength } from './sketch';
import type { IndexManifest } from './types';
import { factorStages } from './build';

/** Rows are held in memory up to this many bytes (40% of RAM, at most 8 GiB); larger indexes stream. */
export const DEFAULT_MEMORY_BUDGET = Math.min(8 * 2 ** 30, 0.4 * totalmem());

export interface OpenIndexOptions {
  /** The model the caller runs: an index built for another one is refused. */
  modelFingerprint: string;
  /** Factors the caller loaded: must be those the index was built with. */
  factors: LoadedFactors;
  /**
   * The corpus whose documents the caller reads by the index's document numbers (a rerank, snippets, the
   * document view): an index built on another corpus (or the same one since changed) is refused.
   */
  corpus?: { fingerprint: string; path: string };
  memoryBudgetBytes?: number;
}

export class IndexSearcher {
  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    readonly documents: ResultsDocument[],
    /** Every chunk loaded here, or undefined when streaming from disk or held by the pool's threads. */
    private readonly scanner: ChunkScanner | undefined,
    /** The pool whose threads hold the rows, part by part (or stream them). */
    private readonly pool?: IndexPool,
    /** Whether the pool's threads stream their chunks from disk at every query. */
    private readonly streamed = false,
  ) {}

  /** Opens an index and holds its rows here (or streams them): for one-off use and tests. */
  static open(dir: string, o: OpenIndexOptions): IndexSearcher {
    const { manifest, documents } = IndexSearcher.check(dir, o);
    if (!IndexSearcher.fits(manifest, 1, o)) return new IndexSearcher(dir, manifest, documents, undefined);
    const scanner = new ChunkScanner(dir, manifest);
    scanner.reserve(manifest.chunks);
    manifest.chunks.forEach((c) => scanner.load(c));
    return new IndexSearcher(dir, manifest, documents, scanner);
  }

  /**
   * Opens an index with its rows split over the pool's threads (each loads and checks its own chunks); one
   * over the memory budget is split alike, each thread streaming its chunks from disk at every query.
   */
  static async openOnPool(dir: string, o: OpenIndexOptions, pool: IndexPool): Promise<IndexSearcher> {
    const { manifest, documents } = IndexSearcher.check(dir, o);
    const stream = !IndexSearcher.fits(manifest, pool.size, o);
    await pool.each((part, parts) => ({ kind: 'openIndexPart', dir, part, parts, stream }));
    return new IndexSearcher(dir, manifest, documents, undefined, pool, stream);
  }

  private static check(dir: string, o: OpenIndexOptions): { manifest: IndexManifest; documents: ResultsDocument[] } {
    const manifest = readManifest(dir);
    if (manifest.model.fingerprint !== o.modelFingerprint) {
      throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} was built for another model (${manifest.model.path})`, { file: dir });
    }
    if (o.corpus && manifest.corpus.fingerprint !== o.corpus.fingerprint) {
      throw new InfluenceLensError(
        'INDEX_MISMATCH',
        `the index in ${dir} was built on another corpus (${manifest.corpus.path}, fingerprint ${manifest.corpus.fingerprint.slice(0, 12)}) than ${o.corpus.path} (fingerprint ${o.corpus.fingerprint.slice(0, 12)}): ` +
          'its document numbers would pair with other documents; rebuild the index on this corpus (or give the corpus it was built on, unchanged, with the same --text-field/--id-field/--source-field)',
        { file: dir },
      );
    }
    if (manifest.shard !== null) {
      throw new InfluenceLensError(
        'INDEX_INCOMPLETE',
        `the index in ${dir} is shard ${manifest.shard} of the corpus only: merge every shard first (influence-lens merge --index … --out DIR)`,
        { file: dir },
      );
    }
    const have = factorStages(o.factors.manifest);
    if (manifest.factors.eigenSha256 !== have.eigenSha256 || (manifest.factors.lambdaSha256 !== null && manifest.factors.lambdaSha256 !== have.lambdaSha256)) {
      throw new InfluenceLensError(
        'INDEX_MISMATCH',
        `the index in ${dir} was built with other factors than ${o.factors.dir} (${manifest.factors.path}); rebuild it`,
        { file: dir },
      );
    }
    const documents = readDocuments(dir, manifest);
    if (documents.length !== manifest.documents) throw new InfluenceLensError('INDEX_CORRUPT', 'documents.json disagrees with the manifest', { file: dir });
    if (manifest.chunks.reduce((n, c) => n + c.count, 0) !== manifest.documents)
      throw new InfluenceLensError('INDEX_CORRUPT', 'the chunks listed in the manifest do not cover its documents', { file: dir });
    return { manifest, documents };
  }

  /** Whether the rows fit the budget, and each thread's share one scan memory. */
  private static fits(manifest: IndexManifest, parts: number, o: OpenIndexOptions): boolean {
    if (manifest.documents * bytesPerRow(manifest.rows) > (o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET)) return false;
    return Array.from({ length: parts }, (_, p) => scannerBytes(manifest, chunksOfPart(manifest.chunks, p, parts))).every((b) => b < SCAN_MEMORY_LIMIT);
  }

  /** Releases the rows the pool's threads hold. */
  async close(): Promise<void> {
    if (this.pool) await this.pool.each(() => ({ kind: 'closeIndexPart' }));
  }

  /** Whether the rows are held in memory (else every query reads them from disk). */
  get inMemory(): boolean {
    return this.scanner !== undefined || (this.pool !== undefined && !this.streamed);
  }

  /** Entries of a query vector (queryLength). */
  get queryDim(): number {
    return queryLength(this.manifest);
  }

  /** Approximate I(q, d) for every indexed document, in index order: on the pool's threads when opened there. */
  async scan(query: IndexQuery, signal?: AbortSignal, priority?: Priority): Promise<Float32Array> {
    this.checkQuery(query);
    if (!this.pool) return this.scores(query, signal);
    signal?.throwIfAborted();
    const parts = await this.pool.each(() => ({ kind: 'scanIndexPart', query }), { signal, priority });
    const out = new Float32Array(this.manifest.documents);
    parts.forEach((scores, part) => {
      let at = 0;
      for (const chunk of chunksOfPart(this.manifest.chunks, part, parts.length)) {
        out.set(scores.subarray(at, at + chunk.count), chunk.first);
        at += chunk.count;
      }
    });
    return out;
  }

  /** The same on this thread (rows held here, or streamed from disk a chunk at a time). */
  scores(query: IndexQuery, signal?: AbortSignal): Float32Array {
    this.checkQuery(query);
    if (this.pool) throw new Error('this index is held by the compute threads: use scan()');
    if (this.scanner) return this.scanner.scan(query);
    const out = new Float32Array(this.manifest.documents);
    const stream = new ChunkScanner(this.dir, this.manifest);
    for (const chunk of this.manifest.chunks) {
      signal?.throwIfAborted();
      stream.load(chunk);
      stream.scan(query, out.subarray(chunk.first, chunk.first + chunk.count));
      stream.unload();
    }
    return out;
  }

  private checkQuery(query: IndexQuery): void {
    if (query.values.length !== this.queryDim) {
      throw new Error(`query has ${query.values.length} entries; the index needs ${this.queryDim}`);
    }
  }
}
