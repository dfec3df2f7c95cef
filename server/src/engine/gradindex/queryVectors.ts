/**
 * Queries as the index scans them: each query's forward/backward pass and its sketch run on the compute
 * threads (tfjs), preconditioned by EK-FAC's 1 / (Λ + λ) there (eigen, kron) or here (count, blocks, which
 * need the query's whole rotation), then quantized for the kernel (quantizeQuery).
 */
import type { IndexPool, IndexResults, IndexTask } from './tasks';
import type { Priority, TaskOf } from '../worker/taskPool';
import { runBatched } from '../worker/batched';
import type { LoadedFactors } from '../ekfac/load';
import type { ModuleFactors } from '../ekfac/types';
import { dampingFor } from '../score/precondition';
import { querySequence, type PreparedQuery } from '../score/queries';
import { countBucket, sketchBasis, type RotationBasisMessage, type SketchBasisMessage } from './projection';
import { quantizeQuery, type IndexQuery } from './scan';
import { BLOCK, type IndexManifest } from './types';
import { rescoreBasis } from './rescore/basis';

export interface EncodedQueries {
  queries: IndexQuery[];
  /** Each query's completion loss (nats). */
  nll: number[];
}

/** Turns what a thread returns for one query into the vector the index scans (the identity for eigen, kron). */
export type Finish = (v: Float32Array) => Float32Array;

export class IndexQueryEncoder {
  private constructor(
    private readonly pool: IndexPool,
    private readonly manifest: IndexManifest,
    /** Entries a thread returns per query. */
    private readonly width: number,
    private readonly finish: Finish,
  ) {}

  /** Uploads the index's sketch to every compute thread; `damping` as score's (default 0.1 × mean Λ). */
  static async create(pool: IndexPool, manifest: IndexManifest, factors: LoadedFactors, damping?: number): Promise<IndexQueryEncoder> {
    const fs = manifest.modules.map((m) => factors.modules.find((x) => x.name === m.name)!);
    const lambdas = fs.map((f) => dampingFor(f, damping));
    const messages = fs.map((f, i) => sketchBasis(f, manifest.modules[i], i, manifest.sketch, lambdas[i]));
    // The rescoring tier's basis too: hovers score its rows on these threads (TokenScorer's rescore).
    await pool.broadcast({ kind: 'setIndexBasis', modules: messages, rescore: rescoreBasis(manifest, fs) });
    const { width, finish } = queryFinish(manifest, fs, messages, lambdas);
    return new IndexQueryEncoder(pool, manifest, width, finish);
  }

  async encode(
    queries: PreparedQuery[],
    o: { batchSize?: number; signal?: AbortSignal; priority?: Priority; onDone?: (done: number) => void } = {},
  ): Promise<EncodedQueries> {
    const out: EncodedQueries = { queries: [], nll: [] };
    const P = this.width;
    await runBatched<PreparedQuery, TaskOf<IndexTask, 'indexQuery'>, IndexResults>(
      this.pool,
      queries,
      o.batchSize ?? this.pool.batchSize,
      (batch) => ({ kind: 'indexQuery', sequences: batch.map(querySequence) }),
      ({ losses, vectors }) => {
        losses.forEach((loss, b) => {
          out.queries.push(quantizeQuery(this.finish(vectors.subarray(b * P, (b + 1) * P)), this.manifest));
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

/**
 * What a thread returns per query (its width) and how it becomes the scanned vector: eigen and kron, the
 * sketch itself; blocks and count, from the query's rotation R_q (transposed order, module after module),
 * R_q / (Λ + λ) per entry (blocks) or R_q / ((Λ + λ) U) hashed into the documents' buckets (count).
 */
export function queryFinish(
  manifest: Pick<IndexManifest, 'sketch' | 'modules' | 'rows'>,
  fs: ModuleFactors[],
  messages: SketchBasisMessage[],
  lambdas: number[],
): { width: number; finish: Finish } {
  const rotations = messages.filter((x): x is RotationBasisMessage => x.kind === 'rotate');
  if (rotations.length === 0) return { width: manifest.rows.values, finish: (v) => v };
  return { width: rotations.reduce((n, r) => n + r.width, 0), finish: rotationFinish(manifest, fs, rotations, lambdas) };
}

function rotationFinish(
  manifest: Pick<IndexManifest, 'sketch' | 'modules' | 'rows'>,
  fs: ModuleFactors[],
  rotations: RotationBasisMessage[],
  lambdas: number[],
): Finish {
  const scale = new Float32Array(rotations.reduce((n, r) => n + r.width, 0));
  let off = 0;
  rotations.forEach((r, j) => {
    const f = fs[j];
    for (let o = 0; o < r.outDim; o++) {
      for (let i = 0; i < r.inDim; i++) {
        const p = i * r.outDim + o;
        const damped = Math.max(f.lambda![o * r.inDim + i], 0) + lambdas[j];
        scale[off + p] = manifest.sketch.kind === 'blocks' ? 1 / damped : 1 / (damped * r.weights[p]);
      }
    }
    off += r.width;
  });
  if (manifest.sketch.kind === 'blocks') {
    if (manifest.modules.some((m, j) => m.blocks! * BLOCK !== rotations[j].width)) throw new Error('blocks query width mismatch');
    return (v) => v.map((x, p) => x * scale[p]);
  }
  const dims = Number(manifest.sketch.size);
  const codes = new Int32Array(scale.length);
  off = 0;
  rotations.forEach((r) => {
    for (let p = 0; p < r.width; p++) {
      const { bucket, sign } = countBucket(r.count!.seed, r.count!.module, p, dims);
      codes[off + p] = bucket * 2 + (sign < 0 ? 1 : 0);
    }
    off += r.width;
  });
  return (v) => {
    const out = new Float32Array(manifest.rows.values);
    for (let p = 0; p < v.length; p++) {
      const x = v[p] * scale[p];
      out[codes[p] >> 1] += codes[p] & 1 ? -x : x;
    }
    return out;
  };
}
