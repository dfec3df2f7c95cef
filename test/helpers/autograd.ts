/** Reference weight gradients from tfjs autograd through plain ops (no captures involved). */
import type { CaptureSequence } from '../../server/src/engine/capture/types';
import type { TfModel } from '../../server/src/engine/model/tfModel';
import { tf, type Tensor1D, type Tensor2D } from '../../server/src/engine/tf';

/** Autograd: d(summed masked loss)/dW through plain tfjs ops, per tracked module, [out × in(+1)]. */
export function autogradWeightGradients(model: TfModel, seqs: CaptureSequence[], labels: number[][]): Map<string, Float64Array> {
  const B = seqs.length;
  const L = Math.max(...seqs.map((s) => s.tokens.length));
  const V = model.config.vocabSize;
  const ids = new Int32Array(B * L);
  const labelIds = new Int32Array(B * L);
  const weights = new Float32Array(B * L);
  seqs.forEach((s, b) => {
    ids.set(s.tokens, b * L);
    labels[b].forEach((label, t) => {
      if (label >= 0) {
        labelIds[b * L + t] = label;
        weights[b * L + t] = 1;
      }
    });
  });
  const out = new Map<string, Float64Array>();
  tf.tidy(() => {
    const params: tf.Tensor[] = [];
    const overrides = new Map<string, { wT: Tensor2D; b?: Tensor1D }>();
    for (const m of model.tracked) {
      const wT = tf.transpose(model.t(m.weight)) as Tensor2D;
      const b = m.bias ? (model.t(m.bias) as Tensor1D) : undefined;
      overrides.set(m.name, { wT, b });
      params.push(wT, ...(b ? [b] : []));
    }
    const loss = (...ps: tf.Tensor[]) => {
      let k = 0;
      const o = new Map(model.tracked.map((m) => [m.name, { wT: ps[k++] as Tensor2D, b: m.bias ? (ps[k++] as Tensor1D) : undefined }]));
      const logits = model.forward(tf.tensor2d(ids, [B, L], 'int32'), { weightOverrides: o });
      const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(labelIds, 'int32'), V)), -1));
      return tf.sum(tf.mul(nll, tf.tensor1d(weights)));
    };
    const grads = tf.grads(loss)(params);
    let k = 0;
    for (const m of model.tracked) {
      const dWT = grads[k++].arraySync() as number[][]; // [in, out]
      const db = m.bias ? (grads[k++].dataSync() as Float32Array) : undefined;
      const cols = m.inDim + (db ? 1 : 0);
      const G = new Float64Array(m.outDim * cols);
      for (let o = 0; o < m.outDim; o++) {
        for (let i = 0; i < m.inDim; i++) G[o * cols + i] = dWT[i][o];
        if (db) G[o * cols + m.inDim] = db[o];
      }
      out.set(m.name, G);
    }
  });
  return out;
}

/** Labels of actual next tokens for every position after the first, as captureBatch reports them. */
export function actualLabels(seqs: CaptureSequence[]): number[][] {
  return seqs.map((s) => s.tokens.slice(1).map((t, i) => (s.targets && !s.targets[i + 1] ? -1 : t)));
}
