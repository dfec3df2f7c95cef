/**
 * Scoring against the index: a query's rotated, damped gradient at the kept positions, dotted with every
 * document row. Rows live in memory when they fit the budget, else chunks are read from disk per query.
 */
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import { rotate } from '../linalg/matrix';
import type { ResultsDocument } from '../results/types';
import { dampingFor } from '../score/precondition';
import { readChunk, readDocuments, readManifest } from './store';
import type { IndexManifest } from './types';
import { factorsFingerprint } from './build';

export const DEFAULT_MEMORY_BUDGET = 1 << 30;

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
    /** Decoded chunks, or undefined when streaming from disk. */
    private readonly rows: Float32Array[] | undefined,
  ) {}

  static open(dir: string, o: OpenIndexOptions): IndexSearcher {
    const manifest = readManifest(dir);
    if (manifest.model.fingerprint !== o.modelFingerprint) {
      throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} was built for another model (${manifest.model.path})`, { file: dir });
    }
    if (manifest.factors.fingerprint !== factorsFingerprint(o.factors.dir)) {
      throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} was built with other factors than ${o.factors.dir} (${manifest.factors.path}); rebuild it`, { file: dir });
    }
    const documents = readDocuments(dir, manifest);
    if (documents.length !== manifest.documents) throw new InfluenceLensError('INDEX_CORRUPT', 'documents.json disagrees with the manifest', { file: dir });
    const bytes = manifest.documents * manifest.rowDim * 4;
    const rows = bytes <= (o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET) ? manifest.chunks.map((c) => readChunk(dir, manifest, c)) : undefined;
    return new IndexSearcher(dir, manifest, documents, rows);
  }

  get inMemory(): boolean {
    return this.rows !== undefined;
  }

  /** The query's vector: R_q = Q_Sᵀ G_q Q_A at the kept positions, divided by Λ + λ. */
  queryVector(gradients: Map<string, Float64Array>, factors: LoadedFactors, damping?: number): Float32Array {
    const v = new Float32Array(this.manifest.rowDim);
    let off = 0;
    for (const m of this.manifest.modules) {
      const f = factors.modules.find((x) => x.name === m.name);
      const g = gradients.get(m.name);
      if (!f?.eigen || !f.lambda || !g) throw new Error(`no factors or gradient for module ${m.name}`);
      const lambda = dampingFor(f, damping);
      const r = rotate(f.eigen.QS, g, f.eigen.QA, m.outDim, m.inDim);
      m.positions.forEach((p, k) => (v[off + k] = r[p] / (f.lambda![p] + lambda)));
      off += m.positions.length;
    }
    return v;
  }

  /** Approximate I(q, d) for every indexed document, in index order. */
  scores(query: Float32Array, signal?: AbortSignal): Float32Array {
    const D = this.manifest.documents;
    const dim = this.manifest.rowDim;
    const out = new Float32Array(D);
    this.manifest.chunks.forEach((chunk, c) => {
      signal?.throwIfAborted();
      const rows = this.rows ? this.rows[c] : readChunk(this.dir, this.manifest, chunk);
      for (let r = 0; r < chunk.count; r++) {
        let s = 0;
        const base = r * dim;
        for (let k = 0; k < dim; k++) s += rows[base + k] * query[k];
        out[chunk.first + r] = s;
      }
    });
    return out;
  }
}
