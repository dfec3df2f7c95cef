/**
 * Per-token captures for one batch: one forward and one backward pass, in which a zero tensor added to
 * every tracked linear's output turns the backward pass into g_t for every token (docs/ENVIRONMENT.md),
 * while the forward pass hands over the inputs a_t. Padding (right of each sequence) never contributes.
 */
import { tf, type Tensor, type Tensor2D } from '../tf';
import type { TfModel } from '../model/tfModel';
import { hashInts, Rng, sampleSoftmax } from '../util/random';
import type { CaptureOptions, CaptureResult, CaptureSequence, ModuleCapture } from './types';

interface Targets {
  /** Label per padded position [B·L] (0 where unused, masked by weight). */
  labels: Int32Array;
  weights: Float32Array;
  perSequence: number[][];
}

export function captureBatch(model: TfModel, sequences: CaptureSequence[], options: CaptureOptions): CaptureResult {
  if (sequences.length === 0) return { losses: [], tokenCounts: [], modules: [], labels: [] };
  const B = sequences.length;
  const L = Math.max(...sequences.map((s) => s.tokens.length));
  const V = model.config.vocabSize;
  const ids = new Int32Array(B * L);
  sequences.forEach((s, b) => {
    for (const tok of s.tokens) if (!(tok >= 0 && tok < V)) throw new Error(`token id ${tok} is outside the vocabulary (${V})`);
    ids.set(s.tokens, b * L);
  });

  const kept: Tensor[] = [];
  const inputs = new Map<string, Tensor2D>();
  const losses = new Array<number>(B).fill(0);
  let targets: Targets | undefined;
  let result: CaptureResult | undefined;
  try {
    tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [B, L], 'int32');
      const taps = model.tracked.map((m) => tf.zeros([B * L, m.outDim]) as Tensor2D);
      const loss = (...tapTensors: Tensor[]): Tensor => {
        const tapMap = new Map(model.tracked.map((m, i) => [m.name, tapTensors[i] as Tensor2D]));
        const logits = model.forward(idsT, {
          taps: tapMap,
          onInput: (name, a) => {
            inputs.set(name, tf.keep(a));
            kept.push(a);
          },
        });
        targets = buildTargets(sequences, L, options, options.labels === 'sampled' ? logits.dataSync() : undefined, V);
        const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(targets.labels, 'int32'), V)), -1));
        const weighted = tf.mul(nll, tf.tensor1d(targets.weights));
        const perToken = weighted.dataSync();
        for (let b = 0; b < B; b++) for (let t = 0; t < L; t++) losses[b] += perToken[b * L + t];
        return tf.sum(weighted);
      };
      const grads = tf.grads(loss)(taps);
      const tokenCounts = sequences.map((s) => s.tokens.length);
      const modules: ModuleCapture[] = model.tracked.map((m, i) => {
        const a = gatherRows(inputs.get(m.name)!.dataSync() as Float32Array, m.inDim, L, tokenCounts, m.bias !== undefined);
        const g = gatherRows(grads[i].dataSync() as Float32Array, m.outDim, L, tokenCounts, false);
        return { name: m.name, inDim: m.inDim + (m.bias ? 1 : 0), outDim: m.outDim, a, g };
      });
      result = { losses, tokenCounts, modules, labels: targets!.perSequence };
    });
  } finally {
    for (const t of kept) t.dispose();
  }
  return result!;
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

/** Copies each sequence's real rows out of a padded [B·L × width] matrix, optionally appending a 1 column. */
function gatherRows(src: Float32Array, width: number, L: number, counts: number[], bias: boolean): Float32Array {
  const w = width + (bias ? 1 : 0);
  const out = new Float32Array(counts.reduce((x, y) => x + y, 0) * w);
  let row = 0;
  counts.forEach((n, b) => {
    for (let t = 0; t < n; t++, row++) {
      out.set(src.subarray((b * L + t) * width, (b * L + t + 1) * width), row * w);
      if (bias) out[row * w + width] = 1;
    }
  });
  return out;
}
