/** The scoring stage's device side: per-document gradients, and scores against uploaded queries. */
import { replaceTensors, squareTensor, type StageHandlers, type ThreadState } from '../device/deviceState';
import { download, mapReadback, readback } from '../device/readback';
import { wasmHeapBytes } from '../device/wasm';
import { sequenceLosses, withDeviceCaptures } from '../capture/deviceCaptures';
import { lossPerSequence } from '../capture/targets';
import { ACTUAL_LABELS, type CaptureSequence } from '../capture/types';
import { perSequenceGradients, type ModuleSum } from '../ekfac/reductions';
import { tf, type Tensor2D } from '../tf';
import { keptTokenQuery, pairwiseScores, preconditionedGradients, selfScores, tokenScores, type DeviceQueryModule, type DeviceSelfModule } from './reductions';
import type { PreparedQueries, SelfPreconditioner } from './types';
import type { InferenceResults, InferenceTask } from '../inference/tasks';
import type { TaskPool } from '../worker/taskPool';

export type ScoreTask =
  | { kind: 'sequenceGradients'; sequences: CaptureSequence[] }
  // `slot` keeps one run's uploaded queries apart from another's on the same threads (a hover scoring
  // exactly while a batch runs).
  | { kind: 'setQueries'; queries: PreparedQueries; slot?: string }
  | { kind: 'score'; sequences: CaptureSequence[]; self: boolean; slot?: string }
  | { kind: 'setSelf'; modules: SelfPreconditioner[]; slot?: string }
  | { kind: 'setPreconditioner'; modules: SelfPreconditioner[] }
  // Stateless: the module's factors travel with each task (a thread never holds every module's at once).
  | { kind: 'precondition'; module: SelfPreconditioner; gradients: Float32Array; count: number }
  | { kind: 'setTokenQuery'; sequence: CaptureSequence }
  | { kind: 'tokenScores'; sequences: CaptureSequence[] }
  /** Grows this thread's heap to `bytes` (WebAssembly only), its new pages written once. */
  | { kind: 'warmHeap'; bytes: number };

export interface ScoreResults {
  sequenceGradients: { losses: number[]; gradients: (ModuleSum & { outDim: number; inDim: number })[][] /* per sequence, per module [out×in] */ };
  setQueries: null;
  /** [B × Q] pairwise scores, and [B] self-influence when asked for. */
  score: { pairwise: Float32Array; self?: Float32Array };
  setSelf: null;
  setPreconditioner: null;
  /** P [count × out × in] (each query's row-major [out × in]). */
  precondition: Float32Array;
  /** The query's completion loss (nats). */
  setTokenQuery: { loss: number };
  /** Per-token influence [B × L] (row b: sequence b, zero past its length), L the padded length. */
  tokenScores: { L: number; values: Float32Array };
  /** The thread's WebAssembly heap now (bytes; 0 on other backends). */
  warmHeap: number;
}

/**
 * Stored index rows scored against the token query (TokenScorer's rescoring tier). The index's sketch
 * decodes the rows, so gradindex/tasks.ts runs it; it is declared here, below both, for TokenScorer to submit.
 */
export type RescoreRowsTask =
  | { kind: 'rescoreRows'; rows: PackedRows; queryRank: number }
  /** Makes the token query's low-rank factors ahead of its rescoring steps (while the main thread reads rows). */
  | { kind: 'prepareRescoreQuery' };
/**
 * Rows of one size back to back in one buffer: a few hundred rows of tens of kilobytes travel to a thread
 * as one transferred buffer instead of as many cloned ones (which cost the main thread 60 ms, and at times
 * a garbage collection of a second, per hover).
 */
export interface PackedRows {
  bytes: Uint8Array;
  count: number;
  /** Bytes per row; each starts at a multiple of 8 (readers view them as 32-bit words). */
  size: number;
}

/** Where consecutive rows of `size` bytes start when packed: at multiples of 8. */
export const rowStride = (size: number) => Math.ceil(size / 8) * 8;

export function packRows(rows: Uint8Array[]): PackedRows {
  const size = rows[0]?.byteLength ?? 0;
  const bytes = new Uint8Array(rowStride(size) * rows.length);
  rows.forEach((r, i) => {
    if (r.byteLength !== size) throw new Error(`rows to pack differ in size (${r.byteLength} and ${size} bytes)`);
    bytes.set(r, i * rowStride(size));
  });
  return { bytes, count: rows.length, size };
}

export function unpackRows({ bytes, count, size }: PackedRows): Uint8Array[] {
  return Array.from({ length: count }, (_, i) => bytes.subarray(i * rowStride(size), i * rowStride(size) + size));
}
export interface RescoreRowsResults {
  /** Per row, its score against the token query. */
  rescoreRows: Float32Array;
  prepareRescoreQuery: null;
}

/** A pool that runs the scoring tasks, the generation of query completions, and the rescoring tier's rows. */
export type ScorePool = TaskPool<ScoreTask | InferenceTask | RescoreRowsTask, ScoreResults & InferenceResults & RescoreRowsResults>;

class Prepared {
  queries = new Map<string, DeviceQueryModule>();
  queryCount = 0;
  self = new Map<string, DeviceSelfModule>();
  dispose(): void {
    this.queries = replaceTensors(this.queries, []);
    this.self = replaceTensors(this.self, []);
  }
}

/** One query kept for per-token scoring (TokenScorer): the preconditioner and the query's Pᵀ per module. */
class TokenQuery {
  preconditioner = new Map<string, DeviceSelfModule>();
  PT = new Map<string, Tensor2D>();
  dispose(): void {
    this.preconditioner = replaceTensors(this.preconditioner, []);
    this.PT = replaceTensors(this.PT, []);
  }
}

const prepared = (s: ThreadState, slot: string | undefined) => s.stage(slot ? `score:${slot}` : 'score', () => new Prepared());
const tokenQuery = (s: ThreadState) => s.stage('tokenQuery', () => new TokenQuery());

/** The query set for per-token scoring on this thread (setTokenQuery): P_qᵀ [in × out] per module. */
export function tokenQueryTransposed(s: ThreadState): Map<string, Tensor2D> {
  const PT = tokenQuery(s).PT;
  if (PT.size === 0) throw new Error('no token query is set in this compute thread');
  return PT;
}

export const scoreHandlers: StageHandlers<ScoreTask, ScoreResults> = {
  sequenceGradients: (s, task) =>
    withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => {
      const G = c.modules.map((m) => perSequenceGradients(c, m));
      return readback([c.tokenLosses, ...G], ([losses, ...data]) => {
        const perModule = c.modules.map((m, i) => ({ name: m.module.name, outDim: G[i].shape[1], inDim: G[i].shape[2], data: data[i] }));
        const gradients = task.sequences.map((_, b) =>
          perModule.map(({ data, ...m }) => ({ ...m, data: data.slice(b * m.outDim * m.inDim, (b + 1) * m.outDim * m.inDim) as Float32Array })),
        );
        return { losses: lossPerSequence(c.B, c.L, losses), gradients };
      });
    }),
  setQueries: (s, task) => {
    const p = prepared(s, task.slot);
    p.queryCount = task.queries.count;
    p.queries = replaceTensors(
      p.queries,
      task.queries.modules.map((q) => [q.name, uploadQuery(q, task.queries.count)]),
    );
    return null;
  },
  score: (s, task) => {
    const p = prepared(s, task.slot);
    return withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => {
      const pairwise = pairwiseScores(c, p.queries, p.queryCount);
      if (!task.self) return readback([pairwise], ([scores]) => ({ pairwise: scores as Float32Array }));
      return readback([pairwise, selfScores(c, p.self)], ([scores, self]) => ({ pairwise: scores as Float32Array, self: self as Float32Array }));
    });
  },
  setSelf: (s, task) => {
    const p = prepared(s, task.slot);
    p.self = replaceTensors(
      p.self,
      task.modules.map((m) => [m.name, uploadSelf(m)]),
    );
    return null;
  },
  setPreconditioner: (s, task) => {
    const t = tokenQuery(s);
    t.preconditioner = replaceTensors(
      t.preconditioner,
      task.modules.map((m) => [m.name, uploadSelf(m)]),
    );
    t.PT = replaceTensors(t.PT, []);
    return null;
  },
  precondition: async (_s, task) => {
    const m = task.module;
    const module = uploadSelf(m);
    try {
      const P = tf.tidy(() => preconditionedGradients(tf.tensor3d(task.gradients, [task.count, m.outDim, m.inDim]), module));
      return await download(readback([P], ([data]) => data as Float32Array));
    } finally {
      tf.dispose([module.QA, module.QS, module.inverseDamped].filter((t): t is Tensor2D => t !== undefined));
    }
  },
  warmHeap: (_s, task) => {
    if (tf.getBackend() !== 'wasm') return 0;
    // Written, not only grown: a page costs ~3 µs the first time it is written (docs/INDEX.md); freed, the
    // allocator reuses them. Held until the heap is large enough: free space inside it takes some first.
    const held: tf.Tensor[] = [];
    for (let missing = task.bytes - wasmHeapBytes(); missing > 0 && held.length < 8; missing = task.bytes - wasmHeapBytes())
      held.push(tf.fill([Math.ceil(missing / 4)], 0));
    tf.dispose(held);
    return wasmHeapBytes();
  },
  setTokenQuery: (s, task) => {
    const t = tokenQuery(s);
    // The query is replaced before the handler's first await: a task started after this one scores against it.
    return withDeviceCaptures(s.model, [task.sequence], ACTUAL_LABELS, (c) => {
      t.PT = replaceTensors(t.PT, [...keptTokenQuery(c, t.preconditioner)]);
      return mapReadback(sequenceLosses(c), ([loss]) => ({ loss }));
    });
  },
  tokenScores: (s, task) =>
    withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) =>
      readback([tokenScores(c, tokenQuery(s).PT)], ([values]) => ({ L: c.L, values: values as Float32Array })),
    ),
};

function uploadQuery(q: PreparedQueries['modules'][number], count: number): DeviceQueryModule {
  if (q.kind === 'dense') {
    // P [Q, out·in] → PT [out·in, Q] for one 2-D product per batch.
    return { kind: 'dense', PT: tf.tidy(() => tf.transpose(tf.tensor2d(q.P, [count, q.outDim * q.inDim]))) as Tensor2D };
  }
  return {
    kind: 'lowrank',
    rank: q.rank,
    L: tf.tensor2d(q.L, [q.outDim, count * q.rank]),
    R: tf.tensor2d(q.R, [q.inDim, count * q.rank]),
  };
}

function uploadSelf(m: SelfPreconditioner): DeviceSelfModule {
  if (m.QA && m.QS) {
    return {
      QA: squareTensor(m.QA, m.inDim),
      QS: squareTensor(m.QS, m.outDim),
      inverseDamped: tf.tidy(() => tf.transpose(tf.tensor2d(m.inverseDamped, [m.outDim, m.inDim]))) as Tensor2D,
    };
  }
  return { inverseDamped: tf.tensor2d(m.inverseDamped, [m.outDim, m.inDim]) };
}
