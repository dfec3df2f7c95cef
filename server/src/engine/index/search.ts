/**
 * Scoring against the index: a query's rotated, damped gradient (every entry of every module), dotted
 * with each document's kept entries. Rows live in memory when they fit the budget — split over the compute
 * threads when opened on a pool, so a query uses every core — else chunks are read from disk per query.
 */
import { totalmem } from 'node:os';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import { rotate } from '../linalg/matrix';
import type { ResultsDocument } from '../results/types';
import { dampingFor } from '../score/precondition';
import type { ComputePool } from '../backend/pool';
import { bytesPerRow, readChunk, readDocuments, readManifest, type IndexRows } from './store';
import { chunksOfPart, scoreRows } from './scan';
import type { IndexManifest } from './types';
import { factorsFingerprint } from './build';

/** Rows are held in memory up to this many bytes (40% of RAM, at most 8 GiB); larger indexes stream. */
export const DEFAULT_MEMORY_BUDGET = Math.min(8 * 2 ** 30, 0.4 * totalmem());

export interface OpenIndexOptions {
  /** The model the caller runs: an index built for another one is refused. */
  modelFingerprint: string;
  /** Factors the caller loaded: must be those the index was built with. */
  factors: LoadedFactors;
  memoryBudgetBytes?: number;
}

export class IndexSearcher {
  private constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    readonly documents: ResultsDocument[],
    /** Decoded chunks, or undefined when streaming from disk or held by the pool's threads. */
    private readonly rows: IndexRows[] | undefined,
    /** The pool whose threads hold the rows, part by part. */
    private readonly pool?: ComputePool,
  ) {}

  /** Opens an index and holds its rows here (or streams them): for one-off use and tests. */
  static open(dir: string, o: OpenIndexOptions): IndexSearcher {
    const { manifest, documents, fits } = IndexSearcher.check(dir, o);
    return new IndexSearcher(dir, manifest, documents, fits ? manifest.chunks.map((c) => readChunk(dir, manifest, c)) : undefined);
  }

  /** Opens an index with its rows split over the pool's threads (each loads and checks its own chunks). */
  static async openOnPool(dir: string, o: OpenIndexOptions, pool: ComputePool): Promise<IndexSearcher> {
    const { manifest, documents, fits } = IndexSearcher.check(dir, o);
    if (!fits) return new IndexSearcher(dir, manifest, documents, undefined);
    await pool.each((part, parts) => ({ kind: 'openIndexPart', dir, part, parts }));
    return new IndexSearcher(dir, manifest, documents, undefined, pool);
  }

  private static check(dir: string, o: OpenIndexOptions): { manifest: IndexManifest; documents: ResultsDocument[]; fits: boolean } {
    const manifest = readManifest(dir);
    if (manifest.model.fingerprint !== o.modelFingerprint) {
      throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} was built for another model (${manifest.model.path})`, { file: dir });
    }
    if (manifest.factors.fingerprint !== factorsFingerprint(o.factors.dir)) {
      throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} was built with other factors than ${o.factors.dir} (${manifest.factors.path}); rebuild it`, { file: dir });
    }
    const documents = readDocuments(dir, manifest);
    if (documents.length !== manifest.documents) throw new InfluenceLensError('INDEX_CORRUPT', 'documents.json disagrees with the manifest', { file: dir });
    if (manifest.chunks.reduce((n, c) => n + c.count, 0) !== manifest.documents) throw new InfluenceLensError('INDEX_CORRUPT', 'the chunks listed in the manifest do not cover its documents', { file: dir });
    return { manifest, documents, fits: manifest.documents * bytesPerRow(manifest) <= (o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET) };
  }

  /** Releases the rows the pool's threads hold. */
  async close(): Promise<void> {
    if (this.pool) await this.pool.each(() => ({ kind: 'closeIndexPart' }));
  }

  get inMemory(): boolean {
    return this.rows !== undefined || this.pool !== undefined;
  }

  /** Entries of the query's vector: every module's out·in, module after module. */
  get queryDim(): number {
    return this.manifest.modules.reduce((n, m) => n + m.outDim * m.inDim, 0);
  }

  /** The query's vector: R_q = Q_Sᵀ G_q Q_A divided by Λ + λ, every entry (flat o·in + i), module after module. */
  queryVector(gradients: Map<string, Float64Array>, factors: LoadedFactors, damping?: number): Float32Array {
    const v = new Float32Array(this.queryDim);
    let off = 0;
    for (const m of this.manifest.modules) {
      const f = factors.modules.find((x) => x.name === m.name);
      const g = gradients.get(m.name);
      if (!f?.eigen || !f.lambda || !g) throw new Error(`no factors or gradient for module ${m.name}`);
      const lambda = dampingFor(f, damping);
      const r = rotate(f.eigen.QS, g, f.eigen.QA, m.outDim, m.inDim);
      for (let p = 0; p < r.length; p++) v[off + p] = r[p] / (f.lambda[p] + lambda);
      off += r.length;
    }
    return v;
  }

  /** Approximate I(q, d) for every indexed document, in index order: on the pool's threads when opened there. */
  async scan(query: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    this.checkQuery(query);
    if (!this.pool) return this.scores(query, signal);
    signal?.throwIfAborted();
    const parts = await this.pool.each(() => ({ kind: 'scanIndexPart', query }));
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

  /** The same on this thread (rows held here or streamed from disk). */
  scores(query: Float32Array, signal?: AbortSignal): Float32Array {
    this.checkQuery(query);
    if (this.pool) throw new Error('this index is held by the compute threads: use scan()');
    const out = new Float32Array(this.manifest.documents);
    this.manifest.chunks.forEach((chunk, c) => {
      signal?.throwIfAborted();
      scoreRows(this.rows ? this.rows[c] : readChunk(this.dir, this.manifest, chunk), this.manifest, query, out.subarray(chunk.first, chunk.first + chunk.count));
    });
    return out;
  }

  private checkQuery(query: Float32Array): void {
    if (query.length !== this.queryDim) throw new Error(`query vector has ${query.length} entries; the index needs ${this.queryDim}`);
  }
}
