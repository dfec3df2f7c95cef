/**
 * The work a compute thread does, as plain messages: the same handler runs in a worker thread or in the
 * calling thread, so results never depend on where a task ran. Long-lived device state (the model, the
 * eigenbases, prepared queries) is uploaded once per thread and replaced, never leaked.
 */
import { TfModel } from '../model/tfModel';
import type { Checkpoint } from '../model/types';
import { captureBatch } from '../capture/captureBatch';
import { withDeviceCaptures } from '../capture/deviceCaptures';
import type { CaptureOptions, CaptureResult, CaptureSequence } from '../capture/types';
import { covarianceSums, diagonalSums, ekfacLambdaSums, perSequenceGradients, type ModuleSum } from '../ekfac/reductions';
import { keptTokenQuery, pairwiseScores, selfScores, tokenScores, type DeviceQueryModule, type DeviceSelfModule } from '../score/reductions';
import type { PreparedQueries, SelfPreconditioner } from '../score/types';
import { generateGreedy } from '../inference/generate';
import { tokenLosses } from '../inference/loss';
import { evalLoss, ParamSet, trainGradients, type ParamMessage } from '../train/tasks';
import { indexQueryRows, indexRows, type DeviceIndexModule } from '../index/reductions';
import { IndexPart, type IndexQuery } from '../index/scan';
import { tf, type Tensor, type Tensor2D } from '../tf';

/** What a thread needs to compute index rows for one module. */
export interface IndexBasisMessage {
  name: string;
  outDim: number;
  inDim: number;
  QA: Float32Array;
  QS: Float32Array;
  /** Per column i·out + o of the transposed rotation, padded to blocks: √Λ / (Λ + λ). */
  weights: Float32Array;
  blocks: number;
  kept: number;
}

/** Eigenbases as uploaded for the eigenvalue-correction stage (float32, eigenvectors as columns). */
export interface BasesMessage {
  name: string;
  inDim: number;
  outDim: number;
  QA: Float32Array;
  QS: Float32Array;
}

export type Task =
  | { kind: 'capture'; sequences: CaptureSequence[]; options: CaptureOptions }
  | { kind: 'covariance'; sequences: CaptureSequence[]; options: CaptureOptions }
  | { kind: 'setBases'; bases: BasesMessage[] }
  | { kind: 'lambda'; sequences: CaptureSequence[]; options: CaptureOptions; rotate: boolean }
  | { kind: 'sequenceGradients'; sequences: CaptureSequence[] }
  | { kind: 'setQueries'; queries: PreparedQueries }
  | { kind: 'score'; sequences: CaptureSequence[]; self: boolean }
  | { kind: 'setSelf'; modules: SelfPreconditioner[] }
  | { kind: 'setPreconditioner'; modules: SelfPreconditioner[] }
  | { kind: 'setTokenQuery'; sequence: CaptureSequence }
  | { kind: 'tokenScores'; sequences: CaptureSequence[] }
  | { kind: 'generate'; prompt: number[]; maxNewTokens: number; stopIds: number[] }
  | { kind: 'tokenLosses'; tokens: number[] }
  | { kind: 'setIndexBasis'; modules: IndexBasisMessage[] }
  | { kind: 'indexRows'; sequences: CaptureSequence[] }
  | { kind: 'indexQuery'; sequences: CaptureSequence[] }
  | { kind: 'openIndexPart'; dir: string; part: number; parts: number }
  | { kind: 'scanIndexPart'; query: IndexQuery }
  | { kind: 'closeIndexPart' }
  | { kind: 'setParams'; params: ParamMessage[]; tied: boolean }
  | { kind: 'trainGrads'; rows: number[][] }
  | { kind: 'evalLoss'; rows: number[][] }
  | { kind: 'memory' };

interface TaskResults {
  capture: CaptureResult;
  covariance: { A: ModuleSum[]; S: ModuleSum[]; tokens: number };
  setBases: null;
  lambda: { sums: ModuleSum[]; documents: number };
  sequenceGradients: { losses: number[]; gradients: (ModuleSum & { outDim: number; inDim: number })[][] /* per sequence, per module [out×in] */ };
  setQueries: null;
  /** [B × Q] pairwise scores, and [B] self-influence when asked for. */
  score: { pairwise: Float32Array; self?: Float32Array };
  setSelf: null;
  setPreconditioner: null;
  /** The query's completion loss (nats). */
  setTokenQuery: { loss: number };
  /** Per-token influence [B × L] (row b: sequence b, zero past its length), L the padded length. */
  tokenScores: { L: number; values: Float32Array };
  generate: number[];
  tokenLosses: number[];
  setIndexBasis: null;
  indexRows: { blocks: Int32Array; values: Float32Array };
  /** Per sequence its completion loss and R_q in the index's order (module after module, transposed, padded). */
  indexQuery: { losses: number[]; vectors: Float32Array };
  /** Documents this thread holds. */
  openIndexPart: number;
  /** Scores of this thread's documents, its chunks in order. */
  scanIndexPart: Float32Array;
  closeIndexPart: null;
  setParams: null;
  trainGrads: { lossSum: number; tokens: number; grads: ParamMessage[] };
  evalLoss: { lossSum: number; tokens: number };
  memory: { numTensors: number; numBytes: number };
}
export type TaskResult<T extends Task> = TaskResults[T['kind']];
export type TaskOf<K extends Task['kind']> = Extract<Task, { kind: K }>;

const ACTUAL: CaptureOptions = { labels: 'actual', seed: 0 };

/** Per-thread state: the model and factors uploaded to this thread's backend. */
export class TaskRunner {
  private model: TfModel | undefined;
  private bases = new Map<string, { QA: Tensor2D; QS: Tensor2D }>();
  private queries = new Map<string, DeviceQueryModule>();
  private queryCount = 0;
  private self = new Map<string, DeviceSelfModule>();
  private params: ParamSet | undefined;
  private indexBasis = new Map<string, DeviceIndexModule>();
  private indexOrder: string[] = [];
  private indexPart: IndexPart | undefined;
  private preconditioner = new Map<string, DeviceSelfModule>();
  private tokenQuery = new Map<string, Tensor2D>();

  load(checkpoint: Checkpoint, modules?: string[]): void {
    this.dispose();
    this.model = new TfModel(checkpoint, modules);
  }

  run<T extends Task>(task: T): TaskResult<T> {
    return this.dispatch(task) as TaskResult<T>;
  }

  private dispatch(task: Task): TaskResults[Task['kind']] {
    switch (task.kind) {
      case 'capture':
        return captureBatch(this.requireModel(), task.sequences, task.options);
      case 'covariance':
        return withDeviceCaptures(this.requireModel(), task.sequences, task.options, covarianceSums);
      case 'setBases':
        this.bases = replace(this.bases, task.bases.map((b) => [b.name, { QA: square(b.QA, b.inDim), QS: square(b.QS, b.outDim) }]));
        return null;
      case 'lambda':
        return withDeviceCaptures(this.requireModel(), task.sequences, task.options, (c) => ({
          sums: task.rotate ? ekfacLambdaSums(c, this.bases) : diagonalSums(c),
          documents: c.B,
        }));
      case 'sequenceGradients':
        return withDeviceCaptures(this.requireModel(), task.sequences, ACTUAL, (c) => {
          const perModule = c.modules.map((m) => {
            const G = perSequenceGradients(c, m);
            return { name: m.module.name, outDim: G.shape[1], inDim: G.shape[2], data: G.dataSync() as Float32Array };
          });
          const gradients = task.sequences.map((_, b) =>
            perModule.map(({ data, ...m }) => ({ ...m, data: data.slice(b * m.outDim * m.inDim, (b + 1) * m.outDim * m.inDim) })),
          );
          return { losses: c.losses, gradients };
        });
      case 'setQueries':
        this.queryCount = task.queries.count;
        this.queries = replace(this.queries, task.queries.modules.map((q) => [q.name, uploadQuery(q, task.queries.count)]));
        return null;
      case 'score':
        return withDeviceCaptures(this.requireModel(), task.sequences, ACTUAL, (c) => ({
          pairwise: pairwiseScores(c, this.queries, this.queryCount),
          self: task.self ? selfScores(c, this.self) : undefined,
        }));
      case 'setSelf':
        this.self = replace(this.self, task.modules.map((m) => [m.name, uploadSelf(m)]));
        return null;
      case 'setPreconditioner':
        this.preconditioner = replace(this.preconditioner, task.modules.map((m) => [m.name, uploadSelf(m)]));
        this.tokenQuery = replace(this.tokenQuery, []);
        return null;
      case 'setTokenQuery': {
        const { loss, P } = withDeviceCaptures(this.requireModel(), [task.sequence], ACTUAL, (c) => ({ loss: c.losses[0], P: keptTokenQuery(c, this.preconditioner) }));
        this.tokenQuery = replace(this.tokenQuery, [...P]);
        return { loss };
      }
      case 'tokenScores':
        return withDeviceCaptures(this.requireModel(), task.sequences, ACTUAL, (c) => ({ L: c.L, values: tokenScores(c, this.tokenQuery) }));
      case 'generate':
        return generateGreedy(this.requireModel(), task.prompt, task);
      case 'tokenLosses':
        return tokenLosses(this.requireModel(), task.tokens);
      case 'setIndexBasis':
        this.indexOrder = task.modules.map((m) => m.name);
        this.indexBasis = replace(
          this.indexBasis,
          task.modules.map((m) => [
            m.name,
            {
              QA: square(m.QA, m.inDim),
              QS: square(m.QS, m.outDim),
              weights: tf.tensor1d(m.weights),
              blocks: m.blocks,
              kept: m.kept,
            },
          ]),
        );
        return null;
      case 'indexRows':
        return withDeviceCaptures(this.requireModel(), task.sequences, ACTUAL, (c) => indexRows(c, this.indexBasis, this.indexOrder));
      case 'indexQuery':
        return withDeviceCaptures(this.requireModel(), task.sequences, ACTUAL, (c) => ({ losses: c.losses, vectors: indexQueryRows(c, this.indexBasis, this.indexOrder) }));
      case 'openIndexPart':
        this.indexPart = undefined; // the previous part's memory goes before the next one loads
        this.indexPart = new IndexPart(task.dir, task.part, task.parts);
        return this.indexPart.documents;
      case 'scanIndexPart':
        if (!this.indexPart) throw new Error('no index is open in this compute thread');
        return this.indexPart.scan(task.query);
      case 'closeIndexPart':
        this.indexPart = undefined;
        return null;
      case 'setParams':
        this.params?.dispose();
        this.params = new ParamSet(task.params, task.tied);
        return null;
      case 'trainGrads':
        return trainGradients(this.requireModel(), this.requireParams(), task.rows);
      case 'evalLoss':
        return evalLoss(this.requireModel(), this.requireParams(), task.rows);
      case 'memory': {
        const m = tf.memory();
        return { numTensors: m.numTensors, numBytes: m.numBytes };
      }
    }
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
    this.bases = replace(this.bases, []);
    this.queries = replace(this.queries, []);
    this.self = replace(this.self, []);
    this.params?.dispose();
    this.params = undefined;
    this.indexBasis = replace(this.indexBasis, []);
    this.preconditioner = replace(this.preconditioner, []);
    this.tokenQuery = replace(this.tokenQuery, []);
  }

  private requireParams(): ParamSet {
    if (!this.params) throw new Error('no training parameters set in this compute thread');
    return this.params;
  }

  private requireModel(): TfModel {
    if (!this.model) throw new Error('no model loaded in this compute thread');
    return this.model;
  }
}

function square(data: Float32Array, n: number): Tensor2D {
  return tf.tensor2d(data, [n, n]);
}

/** Disposes every tensor held by the old map and returns the new one. */
function replace<V>(old: Map<string, V>, entries: [string, V][]): Map<string, V> {
  for (const v of old.values()) tf.dispose(v instanceof tf.Tensor ? v : Object.values(v as object).filter((x): x is Tensor => x instanceof tf.Tensor));
  return new Map(entries);
}

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
      QA: square(m.QA, m.inDim),
      QS: square(m.QS, m.outDim),
      inverseDamped: tf.tidy(() => tf.transpose(tf.tensor2d(m.inverseDamped, [m.outDim, m.inDim]))) as Tensor2D,
    };
  }
  return { inverseDamped: tf.tensor2d(m.inverseDamped, [m.outDim, m.inDim]) };
}

/** Buffers a result can hand over without copying. */
export function transferables(result: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (v instanceof Float32Array || v instanceof Int32Array) out.add(v.buffer as ArrayBuffer);
    else if (depth < 3 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (depth < 3 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  visit(result, 0);
  return [...out];
}
