/**
 * Training the small models of the linear datamodeling score (docs/EVALUATION.md): one Llama
 * configuration, every model from the same seeded initialisation and with the same data-order seed, so
 * the training documents are the only thing that differs between two models. Query losses are measured
 * on the compute threads right after training, with the parameters the trainer last sent them.
 */
import type { ComputePool } from '../compute/computePool';
import type { Checkpoint, ModelConfig } from '../model/types';
import type { Tokenizer } from '../tokenizer/types';
import { initLlama } from '../train/init';
import { packRows, train } from '../train/train';
import type { ParamMessage } from '../train/gradients';

export interface LdsTraining {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Context of the model (documents longer than this are cut when scored). */
  maxSeqLen: number;
  initSeed: number;
  orderSeed: number;
  epochs: number;
  /** Tokens per packed training row. */
  rowLength: number;
  rowsPerStep: number;
  lr: number;
}

/** Small enough that 50 subset models train in ~25 minutes on 2 idle cores (measured: docs/EVALUATION.md). */
export const DEFAULT_LDS_TRAINING: LdsTraining = {
  dim: 64,
  hiddenDim: 176,
  nLayers: 2,
  nHeads: 4,
  nKvHeads: 2,
  maxSeqLen: 256,
  initSeed: 0,
  orderSeed: 0,
  epochs: 6,
  rowLength: 128,
  rowsPerStep: 16,
  lr: 3e-3,
};

export function ldsConfig(t: LdsTraining, tokenizer: Tokenizer): ModelConfig {
  return {
    architecture: 'llama',
    vocabSize: tokenizer.vocabSize,
    dim: t.dim,
    hiddenDim: t.hiddenDim,
    nLayers: t.nLayers,
    nHeads: t.nHeads,
    nKvHeads: t.nKvHeads,
    maxSeqLen: t.maxSeqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'silu',
    bosId: tokenizer.bosId,
    eosId: tokenizer.eosId,
  };
}

export function ldsInit(t: LdsTraining, tokenizer: Tokenizer): Checkpoint {
  return initLlama(ldsConfig(t, tokenizer), t.initSeed);
}

/** Trains a model from the shared initialisation on these documents ([BOS] … [EOS] token sequences). */
export async function trainLdsModel(
  pool: ComputePool,
  init: Checkpoint,
  documents: number[][],
  t: LdsTraining,
  o: { signal?: AbortSignal; onStep?: (step: number, steps: number) => void } = {},
): Promise<Checkpoint> {
  const rows = packRows(documents, t.rowLength);
  const steps = Math.max(1, Math.ceil((t.epochs * rows.length) / t.rowsPerStep));
  const { checkpoint } = await train({
    pool,
    init,
    train: rows,
    heldOut: [],
    steps,
    rowsPerStep: t.rowsPerStep,
    rowsPerMicroBatch: 2,
    lr: t.lr,
    warmupSteps: Math.max(1, Math.floor(steps / 10)),
    minLrFraction: 0.1,
    clipNorm: 1,
    seed: t.orderSeed,
    evalEvery: steps + 1,
    signal: o.signal,
    onStep: (s) => o.onStep?.(s.step, steps),
  });
  return checkpoint;
}

/** Sends a checkpoint's weights to every compute thread (the trainer's parameter form). */
export async function setPoolParams(pool: ComputePool, checkpoint: Checkpoint): Promise<void> {
  const tied = checkpoint.weights.get('lm_head')?.data === checkpoint.weights.get('embed')?.data;
  const params: ParamMessage[] = [...checkpoint.weights]
    .filter(([n]) => !(tied && n === 'lm_head'))
    .map(([name, w]) => ({ name, shape: w.shape, data: w.data }));
  await pool.broadcast({ kind: 'setParams', params, tied });
}

export interface QueryTokens {
  /** [BOS] + prompt. */
  prompt: number[];
  completion: number[];
}

/**
 * Each query's completion loss (summed nats over the completion tokens, the measurement of
 * docs/EKFAC.md) under the parameters last sent with setPoolParams: the summed next-token loss of
 * prompt + completion minus that of the prompt alone (the prompt's predictions are the same in both).
 */
export async function completionLosses(pool: ComputePool, queries: readonly QueryTokens[]): Promise<number[]> {
  const loss = async (tokens: number[]) => (tokens.length < 2 ? 0 : (await pool.run({ kind: 'evalLoss', rows: [tokens] })).lossSum);
  return Promise.all(queries.map(async (q) => (await loss([...q.prompt, ...q.completion])) - (await loss(q.prompt))));
}
