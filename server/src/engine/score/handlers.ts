/** The scoring stage's device side: per-document gradients, and scores against uploaded queries. */
import { replaceTensors, squareTensor, type StageHandlers, type ThreadState } from '../backend/deviceState';
import { readback } from '../backend/readback';
import { withDeviceCaptures } from '../capture/deviceCaptures';
import { lossPerSequence } from '../capture/targets';
import { ACTUAL_LABELS, type CaptureSequence } from '../capture/types';
import { perSequenceGradients, type ModuleSum } from '../ekfac/reductions';
import { tf, type Tensor2D } from '../tf';
import { pairwiseScores, selfScores, tokenScores, type DeviceQueryModule, type DeviceSelfModule } from './reductions';
import type { PreparedQueries, SelfPreconditioner } from './types';

export type ScoreTask =
  | { kind: 'sequenceGradients'; sequences: CaptureSequence[] }
  | { kind: 'setQueries'; queries: PreparedQueries }
  | { kind: 'score'; sequences: CaptureSequence[]; self: boolean }
  | { kind: 'setSelf'; modules: SelfPreconditioner[] }
  | { kind: 'tokenScore'; sequence: CaptureSequence; P: { name: string; outDim: number; inDim: number; P: Float32Array }[] };

export interface ScoreResults {
  sequenceGradients: { losses: number[]; gradients: (ModuleSum & { outDim: number; inDim: number })[][] /* per sequence, per module [out×in] */ };
  setQueries: null;
  /** [B × Q] pairwise scores, and [B] self-influence when asked for. */
  score: { pairwise: Float32Array; self?: Float32Array };
  setSelf: null;
  tokenScore: Float32Array;
}

class Prepared {
  queries = new Map<string, DeviceQueryModule>();
  queryCount = 0;
  self = new Map<string, DeviceSelfModule>();
  dispose(): void {
    this.queries = replaceTensors(this.queries, []);
    this.self = replaceTensors(this.self, []);
  }
}

const prepared = (s: ThreadState) => s.stage('score', () => new Prepared());

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
    const p = prepared(s);
    p.queryCount = task.queries.count;
    p.queries = replaceTensors(p.queries, task.queries.modules.map((q) => [q.name, uploadQuery(q, task.queries.count)]));
    return null;
  },
  score: (s, task) => {
    const p = prepared(s);
    return withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => {
      const pairwise = pairwiseScores(c, p.queries, p.queryCount);
      if (!task.self) return readback([pairwise], ([scores]) => ({ pairwise: scores as Float32Array }));
      return readback([pairwise, selfScores(c, p.self)], ([scores, self]) => ({ pairwise: scores as Float32Array, self: self as Float32Array }));
    });
  },
  setSelf: (s, task) => {
    const p = prepared(s);
    p.self = replaceTensors(p.self, task.modules.map((m) => [m.name, uploadSelf(m)]));
    return null;
  },
  tokenScore: async (s, task) => {
    const P = new Map(task.P.map((p) => [p.name, tf.tidy(() => tf.transpose(tf.tensor2d(p.P, [p.outDim, p.inDim]))) as Tensor2D]));
    try {
      return await withDeviceCaptures(s.model, [task.sequence], ACTUAL_LABELS, (c) => readback([tokenScores(c, P)], ([scores]) => scores as Float32Array));
    } finally {
      for (const t of P.values()) t.dispose();
    }
  },
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
