/**
 * What each padded position of a capture batch predicts. Actual labels are the next tokens. Sampled
 * labels ("true Fisher") come from the model's own distribution: the host draws one uniform per target
 * from the sequence's own seeded stream (so samples do not depend on batching or on the thread), and the
 * device inverts the softmax's cumulative distribution with it, so the logits never leave the device.
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D } from '../tf';
import { hashInts, Rng } from '../util/random';
import type { CaptureOptions, CaptureSequence } from './types';

export interface HostTargets {
  /** The next token per padded position [B·L] (0 where unused); actual labels only. */
  labels: Int32Array;
  /** One uniform in [0, 1) per padded position [B·L] (0 where unused); sampled labels only. */
  uniforms: Float32Array | undefined;
  /** 1 where a position is a prediction target, else 0 [B·L]. */
  weights: Float32Array;
}

/** Labels or uniforms per padded position: position t predicts token t+1. */
export function hostTargets(sequences: CaptureSequence[], L: number, options: CaptureOptions): HostTargets {
  const sampled = options.labels === 'sampled';
  const labels = new Int32Array(sequences.length * L);
  const uniforms = sampled ? new Float32Array(sequences.length * L) : undefined;
  const weights = new Float32Array(sequences.length * L);
  sequences.forEach((s, b) => {
    const rng = sampled ? new Rng(options.seed, s.sampleKey ?? hashInts(s.tokens)) : undefined;
    for (let t = 0; t + 1 < s.tokens.length; t++) {
      if (s.targets && !s.targets[t + 1]) continue;
      const row = b * L + t;
      weights[row] = 1;
      if (rng) uniforms![row] = rng.next();
      else labels[row] = s.tokens[t + 1];
    }
  });
  return { labels, uniforms, weights };
}

/** The labels of a batch as int32 [B·L] on the device: the actual ones uploaded, or sampled from the logits. */
export function deviceLabels(targets: HostTargets, logits: Tensor2D): Tensor1D {
  if (!targets.uniforms) return tf.tensor1d(targets.labels, 'int32');
  return tf.cast(sampleFromLogits(logits, tf.tensor1d(targets.uniforms)), 'int32') as Tensor1D;
}

/**
 * Per row, the first index whose cumulative softmax probability exceeds u · total: inverse-CDF sampling.
 * An op of its own with a zero gradient, so the loss is differentiated for fixed labels.
 */
function sampleFromLogits(logits: Tensor2D, uniforms: Tensor1D): Tensor1D {
  const V = logits.shape[1];
  const sample = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as Tensor;
    (args[1] as tf.GradSaveFunc)([x]);
    const cdf = tf.cumsum(tf.softmax(x), 1);
    const threshold = tf.mul(tf.reshape(uniforms, [-1, 1]), tf.slice(cdf, [0, V - 1], [-1, 1]));
    const below = tf.sum(tf.cast(tf.lessEqual(cdf, threshold), 'float32'), 1);
    return { value: tf.minimum(below, V - 1), gradFunc: (_dy: Tensor | Tensor[], [saved]: Tensor[]) => tf.zerosLike(saved) };
  });
  return sample(logits) as Tensor1D;
}

/** The labels used per sequence (length tokens−1, −1 where not a target), from the device's [B·L] labels. */
export function labelsPerSequence(sequences: CaptureSequence[], L: number, weights: Float32Array, labels: ArrayLike<number>): number[][] {
  return sequences.map((s, b) => Array.from({ length: Math.max(0, s.tokens.length - 1) }, (_, t) => (weights[b * L + t] ? labels[b * L + t] : -1)));
}

/** Summed loss per sequence (float64) from the per-position losses [B·L]. */
export function lossPerSequence(B: number, L: number, perToken: ArrayLike<number>): number[] {
  const losses = new Array<number>(B).fill(0);
  for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) losses[b] += perToken[b * L + t];
  return losses;
}
