/**
 * Data-parallel training: each step's batch is split into fixed micro-batches (independent of the number
 * of threads), every thread computes summed weight gradients of its micro-batches, the gradients are
 * added in micro-batch order, and AdamW updates the host copy of the weights, which is then sent to
 * every thread. Results therefore do not depend on the number of workers.
 */
import type { TrainPool } from './tasks';
import type { Checkpoint, Weights } from '../model/types';
import { Rng } from '../util/random';
import { AdamW, clipGlobalNorm } from './adamw';
import { isTied } from './init';
import type { ParamMessage } from './gradients';

export interface TrainOptions {
  pool: TrainPool;
  init: Checkpoint;
  /** Packed token rows of equal length. */
  train: number[][];
  heldOut: number[][];
  steps: number;
  rowsPerStep: number;
  rowsPerMicroBatch: number;
  lr: number;
  warmupSteps: number;
  /** Final learning rate as a fraction of lr (cosine decay). */
  minLrFraction: number;
  clipNorm: number;
  seed: number;
  evalEvery: number;
  signal?: AbortSignal;
  onStep?: (s: StepInfo) => void;
  /** Checked after every step: true ends training there (e.g. a time budget), keeping what was learnt. */
  shouldStop?: () => boolean;
}

export interface StepInfo {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  heldOutLoss?: number;
  elapsedMs: number;
  tokens: number;
}

export function learningRate(o: Pick<TrainOptions, 'lr' | 'warmupSteps' | 'steps' | 'minLrFraction'>, step: number): number {
  if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
  const progress = (step - o.warmupSteps) / Math.max(1, o.steps - o.warmupSteps);
  return o.lr * (o.minLrFraction + (1 - o.minLrFraction) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

export async function train(o: TrainOptions): Promise<{ checkpoint: Checkpoint; history: StepInfo[] }> {
  const tied = isTied(o.init.weights, 'lm_head');
  const params = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (const [name, t] of o.init.weights) {
    if (tied && name === 'lm_head') continue;
    params.set(name, Float32Array.from(t.data));
    shapes.set(name, t.shape);
  }
  const message = (): ParamMessage[] => [...params].map(([name, data]) => ({ name, shape: shapes.get(name)!, data }));
  const adam = new AdamW();
  const decay = (name: string) => shapes.get(name)!.length === 2; // matrices, not norm gains
  const order = new Rng(o.seed, 0x7a1);
  let queue: number[] = [];
  const nextRows = (): number[][] => {
    const rows: number[][] = [];
    while (rows.length < o.rowsPerStep) {
      if (queue.length === 0) queue = shuffled(o.train.length, order);
      rows.push(o.train[queue.pop()!]);
    }
    return rows;
  };
  const history: StepInfo[] = [];
  const started = Date.now();
  let tokensSeen = 0;
  for (let step = 0; step < o.steps; step++) {
    o.signal?.throwIfAborted();
    await o.pool.broadcast({ kind: 'setParams', params: message(), tied });
    const rows = nextRows();
    const micro: number[][][] = [];
    for (let i = 0; i < rows.length; i += o.rowsPerMicroBatch) micro.push(rows.slice(i, i + o.rowsPerMicroBatch));
    const results = await Promise.all(micro.map((r) => o.pool.run({ kind: 'trainGrads', rows: r })));
    const tokens = results.reduce((n, r) => n + r.tokens, 0);
    const grads = new Map<string, Float32Array>();
    for (const r of results) {
      for (const g of r.grads) {
        const acc = grads.get(g.name);
        if (!acc) grads.set(g.name, Float32Array.from(g.data));
        else for (let i = 0; i < acc.length; i++) acc[i] += g.data[i];
      }
    }
    for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] /= tokens; // mean loss per token
    const gradNorm = clipGlobalNorm(grads, o.clipNorm);
    const lr = learningRate(o, step);
    adam.step(params, grads, lr, decay);
    tokensSeen += tokens;
    const info: StepInfo = {
      step: step + 1,
      loss: results.reduce((s, r) => s + r.lossSum, 0) / tokens,
      lr,
      gradNorm,
      elapsedMs: Date.now() - started,
      tokens: tokensSeen,
    };
    if ((step + 1) % o.evalEvery === 0 || step + 1 === o.steps) {
      await o.pool.broadcast({ kind: 'setParams', params: message(), tied });
      info.heldOutLoss = await heldOutLoss(o.pool, o.heldOut, o.rowsPerMicroBatch);
    }
    if (o.shouldStop?.() && info.heldOutLoss === undefined) {
      await o.pool.broadcast({ kind: 'setParams', params: message(), tied });
      info.heldOutLoss = await heldOutLoss(o.pool, o.heldOut, o.rowsPerMicroBatch);
    }
    history.push(info);
    o.onStep?.(info);
    if (o.shouldStop?.()) break;
  }
  const weights: Weights = new Map();
  for (const [name, data] of params) weights.set(name, { shape: shapes.get(name)!, data });
  if (tied) weights.set('lm_head', { shape: shapes.get('embed')!, data: params.get('embed')! });
  return { checkpoint: { ...o.init, weights }, history };
}

/** Mean next-token loss (nats) over held-out rows, with the parameters last sent to the threads. */
export async function heldOutLoss(pool: TrainPool, rows: number[][], perBatch: number): Promise<number> {
  const parts = [];
  for (let i = 0; i < rows.length; i += perBatch) parts.push(pool.run({ kind: 'evalLoss', rows: rows.slice(i, i + perBatch) }));
  const done = await Promise.all(parts);
  return done.reduce((s, r) => s + r.lossSum, 0) / done.reduce((n, r) => n + r.tokens, 0);
}

function shuffled(n: number, rng: Rng): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

/** Packs documents ([BOS] … [EOS] each) into rows of exactly `length` tokens; the remainder is dropped. */
export function packRows(documents: number[][], length: number): number[][] {
  const rows: number[][] = [];
  let row: number[] = [];
  for (const doc of documents) {
    for (const t of doc) {
      row.push(t);
      if (row.length === length) {
        rows.push(row);
        row = [];
      }
    }
  }
  return rows;
}
