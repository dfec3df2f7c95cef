/**
 * The capture pass itself: one forward and one backward pass over a padded batch, in which a zero tensor
 * added to every tracked linear's output turns the backward pass into g_t for every token
 * (docs/ENVIRONMENT.md), while the forward pass hands over the inputs a_t. The captures stay on the
 * device as tensors and go to a reduction (covariances, per-document gradients, scores…), which runs in
 * the same tidy scope and names the tensors to read back; only those reach the host, after every op of
 * the batch has been queued (docs/GPU.md).
 */
import { checkBatchFits } from '../device/deviceLimits';
import { download, readback, type Readback } from '../device/readback';
import { tf, type Tensor, type Tensor1D, type Tensor2D } from '../tf';
import type { TfModel, TrackedModule } from '../model/tfModel';
import { deviceLabels, hostTargets, lossPerSequence } from './targets';
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
  /** 1 on rows that are prediction targets, [B·L]. */
  targetMask: Float32Array;
  modules: DeviceModuleCapture[];
  /** Loss of every padded position under the labels used (0 where not a target), [B·L]: see lossPerSequence. */
  tokenLosses: Tensor1D;
  /** The label of every padded position, int32 [B·L]: see labelsPerSequence. */
  labels: Tensor1D;
}

/** Each sequence's loss under the labels used (summed over its positions), to read back. */
export function sequenceLosses(c: DeviceCaptures): Readback<number[]> {
  return readback([c.tokenLosses], ([perToken]) => lossPerSequence(c.B, c.L, perToken));
}

/** Runs the capture pass, lets `reduce` queue its work on the captures, and reads back what it names. */
export async function withDeviceCaptures<R>(
  model: TfModel,
  sequences: CaptureSequence[],
  options: CaptureOptions,
  reduce: (c: DeviceCaptures) => Readback<R>,
): Promise<R> {
  const B = sequences.length;
  const L = Math.max(...sequences.map((s) => s.tokens.length));
  const V = model.config.vocabSize;
  checkBatchFits(model, B, L);
  const ids = new Int32Array(B * L);
  const rowMask = new Float32Array(B * L);
  sequences.forEach((s, b) => {
    for (const tok of s.tokens) if (!(tok >= 0 && tok < V)) throw new Error(`token id ${tok} is outside the vocabulary (${V})`);
    ids.set(s.tokens, b * L);
    rowMask.fill(1, b * L, b * L + s.tokens.length);
  });
  const targets = hostTargets(sequences, L, options);

  // Tensors made inside the gradient computation that must outlive its own tidy scope.
  const kept: Tensor[] = [];
  const keep = <T extends Tensor>(t: T): T => {
    kept.push(tf.keep(t));
    return t;
  };
  let pending: Readback<R> | undefined;
  try {
    let build: Readback<R>['build'] | undefined;
    const tensors = tf.tidy(() => {
      const idsT = tf.tensor2d(ids, [B, L], 'int32');
      const taps = model.tracked.map((m) => tf.zeros([B * L, m.outDim]) as Tensor2D);
      const inputs = new Map<string, Tensor2D>();
      let labels: Tensor1D | undefined;
      let tokenLosses: Tensor1D | undefined;
      const loss = (...tapTensors: Tensor[]): Tensor => {
        const tapMap = new Map(model.tracked.map((m, i) => [m.name, tapTensors[i] as Tensor2D]));
        const logits = model.forward(idsT, { taps: tapMap, onInput: (name, a) => inputs.set(name, keep(a)) });
        labels = keep(deviceLabels(targets, logits));
        const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(labels, V)), -1));
        tokenLosses = keep(tf.mul(nll, tf.tensor1d(targets.weights)) as Tensor1D);
        return tf.sum(tokenLosses);
      };
      const grads = tf.grads(loss)(taps);
      const mask = tf.tensor2d(rowMask, [B * L, 1]);
      const modules = model.tracked.map((module, i) => {
        let a = tf.mul(inputs.get(module.name)!, mask) as Tensor2D;
        if (module.bias) a = tf.concat([a, mask], 1);
        return { module, a, g: grads[i] as Tensor2D };
      });
      const r = reduce({
        B,
        L,
        tokenCounts: sequences.map((s) => s.tokens.length),
        rowMask,
        targetMask: targets.weights,
        modules,
        tokenLosses: tokenLosses!,
        labels: labels!,
      });
      build = r.build;
      return r.tensors;
    });
    pending = { tensors, build: build! };
  } finally {
    // The reduction may hand back the kept per-position losses or labels themselves: download disposes those.
    tf.dispose(kept.filter((t) => !pending?.tensors.includes(t)));
  }
  return download(pending!);
}
