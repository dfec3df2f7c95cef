/**
 * Queries as the index scans them: each query's forward/backward pass and its rotation into the eigenbasis
 * run on the compute threads (tfjs), then R_q / (Λ + λ) is quantized for the kernel (quantizeQuery).
 */
import type { ComputePool, Priority } from '../backend/pool';
import { runBatched } from '../backend/batched';
import type { TaskOf } from '../backend/tasks';
import type { LoadedFactors } from '../ekfac/load';
import { dampingFor } from '../score/precondition';
import { querySequence, type PreparedQuery } from '../score/queries';
import { indexBasisMessages, transposedEntries } from './build';
import { quantizeQuery, queryLength, type IndexQuery } from './scan';
import { BLOCK, type IndexManifest } from './types';

export interface EncodedQueries {
  queries: IndexQuery[];
  /** Each query's completion loss (nats). */
  nll: number[];
}

export class IndexQueryEncoder {
  private constructor(
    private readonly pool: ComputePool,
    private readonly manifest: IndexManifest,
    /** 1 / (Λ + λ) per entry of a query, in its order (zero on the padding). */
    private readonly inverse: Float32Array,
  ) {}

  /** Uploads the index's eigenbases to every compute thread; `damping` as score's (default 0.1 × mean Λ). */
  static async create(pool: ComputePool, manifest: IndexManifest, factors: LoadedFactors, damping?: number): Promise<IndexQueryEncoder> {
    await pool.broadcast({ kind: 'setIndexBasis', modules: indexBasisMessages(factors, manifest.modules, manifest.settings.damping) });
    const inverse = new Float32Array(queryLength(manifest));
    let off = 0;
    for (const m of manifest.modules) {
      const f = factors.modules.find((x) => x.name === m.name)!;
      const lambda = dampingFor(f, damping);
      inverse.set(transposedEntries(f, m.blocks, (l) => 1 / (l + lambda)), off);
      off += m.blocks * BLOCK;
    }
    return new IndexQueryEncoder(pool, manifest, inverse);
  }

  async encode(queries: PreparedQuery[], o: { batchSize?: number; signal?: AbortSignal; priority?: Priority; onDone?: (done: number) => void } = {}): Promise<EncodedQueries> {
    const out: EncodedQueries = { queries: [], nll: [] };
    const P = this.inverse.length;
    await runBatched<PreparedQuery, TaskOf<'indexQuery'>>(
      this.pool,
      queries,
      o.batchSize ?? this.pool.batchSize,
      (batch) => ({ kind: 'indexQuery', sequences: batch.map(querySequence) }),
      ({ losses, vectors }) => {
        losses.forEach((loss, b) => {
          const v = vectors.subarray(b * P, (b + 1) * P);
          for (let p = 0; p < P; p++) v[p] *= this.inverse[p];
          out.queries.push(quantizeQuery(v, this.manifest));
          out.nll.push(loss);
        });
        o.onDone?.(out.queries.length);
      },
      o.signal,
      { priority: o.priority },
    );
    return out;
  }
}
