/**
 * The capture pass itself: one forward and one backward pass over a padded batch, in which a zero tensor
 * added to every tracked linear's output turns the backward pass into g_t for every token
 * (docs/ENVIRONMENT.md), while the forward pass hands over the inputs a_t. The captures stay on the
 * device as tensors and go to a reduction (copy to host, covariances, per-document gradients, scores),
 * which runs inside the same tidy scope: every tensor is released when it returns.
 */
import { tf, type Tensor, type Tensor2D } from '../tf';
import type { TfModel, TrackedModule } from '../model/tfModel';
import { hashInts, Rng, sampleSoftmax } from '../util/random';
import type { CaptureOptions, CaptureSequence } from './types';

export interface DeviceModuleCapture {
  module: TrackedModule;
  /** a_t [B·L × inDim(+1)], padding rows zeroed; a constant 1 column appended when the module has a bias. */
  a: Tensor2D;
  /** g_t [B·L × outDim]; zero on padding rows (no loss there, and nothing real attends to them). */
  g: Tensor2D;
}

export interface DeviceCaptures {
  B: number;
  /** Padded length. */
  L: number;
  tokenCounts: number[];
  /** 1 on real rows, 0 on padding, [B·L]. */
  rowMask: Float32Array;
  modules: DeviceModuleCapture[];
  /** Summed loss per sequence (nats) under the labels used. */
  losses: number[];
  /** Labels used per sequence (length tokens−1, −1 where not a target). */
  labels: number[][];
}

/** Runs the capture pass and hands the device tensors to `reduce`; returns what it returns (host data only). */
export function withDeviceCaptures<R>(
  model: TfModel,
  sequences: CaptureSequence[],
  options: CaptureOptions,
  reduce: (c: DeviceCaptures) => R,
): R {
  const B = sequences.length;
  const L = Math.max(...sequences.map((s) => s.tokens.length));
  const V = model.config.vocabSize;
  const ids = new Int32Array(B * L);
  const rowMask = new Float32Array(B * L);
  sequences.forEach((s, b) => {
    for (const tok of s.tokens) if (!(tok >= 0 && tok < V)) throw new Error(`token id ${tok} is outside the vocabulary (${V})`);
    ids.set(s.tokens, b * L);
    rowMask.fill(1, b * L, b * L + s.tokens.length);
  });

  const kept: Tensor[] = [];
  const inputs = new Map<string, Tensor2D>();
  const losses = new Array<number>(B).fill(0);
  let labels: number[][] = [];
  let result: R | undefined;
  try {
    tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [B, L], 'int32');
      const taps = model.tracked.map((m) => tf.zeros([B * L, m.outDim]) as Tensor2D);
      const loss = (...tapTensors: Tensor[]): Tensor => {
        const tapMap = new Map(model.tracked.map((m, i) => [m.name, tapTensors[i] as Tensor2D]));
        const logits = model.forward(idsT, {
          taps: tapMap,
          onInput: (name, a) => {
            // Kept past the gradient computation's own tidy scope; released in `finally`.
            inputs.set(name, tf.keep(a));
            kept.push(a);
          },
        });
        const targets = buildTargets(sequences, L, options, options.labels === 'sampled' ? logits.dataSync() : undefined, V);
        labels = targets.perSequence;
        const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(targets.labels, 'int32'), V)), -1));
        const weighted = tf.mul(nll, tf.tensor1d(targets.weights));
        const perToken = weighted.dataSync();
        for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) losses[b] += perToken[b * L + t];
        return tf.sum(weighted);
      };
      const grads = tf.grads(loss)(taps);
      const mask = tf.tensor2d(rowMask, [B * L, 1]);
      const modules = model.tracked.map((module, i) => {
        let a = tf.mul(inputs.get(module.name)!, mask) as Tensor2D;
        if (module.bias) a = tf.concat([a, mask], 1);
        return { module, a, g: grads[i] as Tensor2D };
      });
      result = reduce({ B, L, tokenCounts: sequences.map((s) => s.tokens.length), rowMask, modules, losses, labels });
    });
  } finally {
    for (const t of kept) t.dispose();
  }
  return result as R;
}

interface Targets {
  /** Label per padded position [B·L] (0 where unused, masked by weight). */
  labels: Int32Array;
  weights: Float32Array;
  perSequence: number[][];
}

/** Labels and loss weights per padded position: position t predicts token t+1. */
function buildTargets(
  sequences: CaptureSequence[],
  L: number,
  options: CaptureOptions,
  logits: ArrayLike<number> | undefined,
  V: number,
): Targets {
  const labels = new Int32Array(sequences.length * L);
  const weights = new Float32Array(sequences.length * L);
  const perSequence = sequences.map((s, b) => {
    const n = s.tokens.length;
    // Each sequence has its own stream, so samples do not depend on batching or worker count.
    const rng = logits ? new Rng(options.seed, s.sampleKey ?? hashInts(s.tokens)) : undefined;
    const used = new Array<number>(Math.max(0, n - 1)).fill(-1);
    for (let t = 0; t + 1 < n; t++) {
      if (s.targets && !s.targets[t + 1]) continue;
      const row = b * L + t;
      const label = rng ? sampleSoftmax(logits!, row * V, V, rng.next()) : s.tokens[t + 1];
      labels[row] = label;
      weights[row] = 1;
      used[t] = label;
    }
    return used;
  });
  return { labels, weights, perSequence };
}
