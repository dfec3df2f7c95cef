/** Next-token losses of one sequence, forward pass only. */
import { tf, type Tensor2D } from '../tf';
import { download, readback } from '../device/readback';
import type { TfModel } from '../model/tfModel';

/** Cross-entropy (nats) of predicting tokens[t+1] from the prefix, for t = 0 … n−2. */
export async function tokenLosses(model: TfModel, tokens: number[]): Promise<number[]> {
  if (tokens.length < 2) return [];
  const n = tokens.length;
  const picked = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(tokens, [1, n], 'int32'));
    const logp = tf.logSoftmax(tf.slice(logits, [0, 0], [n - 1, -1]) as Tensor2D);
    return tf.sum(tf.mul(logp, tf.oneHot(tf.tensor1d(tokens.slice(1), 'int32'), model.config.vocabSize)), -1);
  });
  return download(readback([picked], ([p]) => Array.from(p, (x) => -x)));
}
