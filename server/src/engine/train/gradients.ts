/** Training work for a compute thread: summed loss and weight gradients of packed token rows. */
import { download, readback } from '../device/readback';
import { tf, type Tensor, type Tensor2D } from '../tf';
import type { TfModel } from '../model/tfModel';

export interface ParamMessage {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** Parameter tensors of one thread; a tied lm_head reads the embedding's tensor. */
export class ParamSet {
  readonly tensors = new Map<string, Tensor>();
  constructor(
    params: ParamMessage[],
    readonly tied: boolean,
  ) {
    for (const p of params) this.tensors.set(p.name, tf.tensor(p.data, p.shape));
  }

  /** The map the forward pass reads, for these tensors or differentiable stand-ins of them. */
  forForward(tensors: Map<string, Tensor> = this.tensors): Map<string, Tensor> {
    const m = new Map(tensors);
    if (this.tied) m.set('lm_head', tensors.get('embed')!);
    return m;
  }

  dispose(): void {
    tf.dispose([...this.tensors.values()]);
  }
}

/** Summed next-token cross-entropy over rows [R, L] (every position but the last predicts the next). */
function rowsLoss(model: TfModel, rows: number[][]): { loss: Tensor; tokens: number } {
  const R = rows.length;
  const L = rows[0].length;
  const ids = tf.tensor2d(rows.flat(), [R, L], 'int32');
  const logits = model.forward(ids) as Tensor2D; // [R·L, V]
  const labels = new Int32Array(R * L);
  const weights = new Float32Array(R * L);
  rows.forEach((row, r) => {
    for (let t = 0; t + 1 < L; t++) {
      labels[r * L + t] = row[t + 1];
      weights[r * L + t] = 1;
    }
  });
  const nll = tf.neg(tf.sum(tf.mul(tf.logSoftmax(logits), tf.oneHot(tf.tensor1d(labels, 'int32'), model.config.vocabSize)), -1));
  return { loss: tf.sum(tf.mul(nll, tf.tensor1d(weights))), tokens: R * (L - 1) };
}

export async function trainGradients(model: TfModel, params: ParamSet, rows: number[][]): Promise<{ lossSum: number; tokens: number; grads: ParamMessage[] }> {
  const names = [...params.tensors.keys()];
  let tokens = 0;
  const tensors = tf.tidy(() => {
    const f = (...ps: Tensor[]) => {
      const map = params.forForward(new Map(names.map((n, i) => [n, ps[i]])));
      const r = model.withParams(map, () => rowsLoss(model, rows));
      tokens = r.tokens;
      return r.loss as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => params.tensors.get(n)!));
    return [value, ...grads];
  });
  return download(
    readback(tensors, ([loss, ...grads]) => ({
      lossSum: loss[0],
      tokens,
      grads: names.map((name, i) => ({ name, shape: tensors[i + 1].shape, data: grads[i] as Float32Array })),
    })),
  );
}

export async function evalLoss(model: TfModel, params: ParamSet, rows: number[][]): Promise<{ lossSum: number; tokens: number }> {
  let tokens = 0;
  const loss = tf.tidy(() => {
    const r = model.withParams(params.forForward(), () => rowsLoss(model, rows));
    tokens = r.tokens;
    return r.loss;
  });
  return download(readback([loss], ([l]) => ({ lossSum: l[0], tokens })));
}
