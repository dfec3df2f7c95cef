/**
 * Scoring against the index: a query's rotated, damped gradient (every entry of every module), dotted
 * with each document's kept entries. Rows live in memory when they fit the budget, else chunks are read
 * from disk per query.
 */
import { totalmem } from 'node:os';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import { rotate } from '../linalg/matrix';
import type { ResultsDocument } from '../results/types';
import { dampingFor } from '../score/precondition';
import { bytesPerRow, readChunk, readDocuments, readManifest, type IndexRows } from './store';
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
    /** Decoded chunks, or undefined when streaming from disk. */
    private readonly rows: IndexRows[] | undefined,
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
    const bytes = manifest.chunks.reduce((n, c) => n + c.count, 0) * bytesPerRow(manifest);
    const rows = bytes <= (o.memoryBudgetBytes ?? DEFAULT_MEMORY_BUDGET) ? manifest.chunks.map((c) => readChunk(dir, manifest, c)) : undefined;
    return new IndexSearcher(dir, manifest, documents, rows);
  }

  get inMemory(): boolean {
    return this.rows !== undefined;
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

  /** Approximate I(q, d) for every indexed document, in index order. */
  scores(query: Float32Array, signal?: AbortSignal): Float32Array {
    if (query.length !== this.queryDim) throw new Error(`query vector has ${query.length} entries; the index needs ${this.queryDim}`);
    const out = new Float32Array(this.manifest.documents);
    this.manifest.chunks.forEach((chunk, c) => {
      signal?.throwIfAborted();
      scoreRows(this.rows ? this.rows[c] : readChunk(this.dir, this.manifest, chunk), this.manifest, query, out.subarray(chunk.first, chunk.first + chunk.count));
    });
    return out;
  }
}

/** out[r] = Σ_modules scale · Σ_kept query[position] · value / 127 for every row of a chunk. */
function scoreRows(rows: IndexRows, manifest: IndexManifest, query: Float32Array, out: Float32Array): void {
  const { positions, values, scales } = rows;
  const E = manifest.entries;
  const M = manifest.modules.length;
  const bases: number[] = [];
  let qoff = 0;
  for (const m of manifest.modules) {
    bases.push(qoff);
    qoff += m.outDim * m.inDim;
  }
  for (let r = 0; r < rows.count; r++) {
    let total = 0;
    let k = r * E;
    for (let m = 0; m < M; m++) {
      const q = bases[m];
      const end = k + manifest.modules[m].kept;
      // Four partial sums: the loop is latency-bound on one accumulator.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (; k + 3 < end; k += 4) {
        s0 += query[q + positions[k]] * values[k];
        s1 += query[q + positions[k + 1]] * values[k + 1];
        s2 += query[q + positions[k + 2]] * values[k + 2];
        s3 += query[q + positions[k + 3]] * values[k + 3];
      }
      for (; k < end; k++) s0 += query[q + positions[k]] * values[k];
      total += (s0 + s1 + s2 + s3) * scales[r * M + m];
    }
    out[r] = total / 127;
  }
}
