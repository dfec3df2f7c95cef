/** Greedy (temperature 0) decoding, as llama2.c's run.c does with -t 0. */
import { tf, type Tensor2D } from '../tf';
import type { TfModel } from '../model/tfModel';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Token ids that end generation (not included in the output). */
  stopIds: number[];
  signal?: AbortSignal;
}

/** The argmax of the logits at the last position of `tokens`. */
export async function nextTokenGreedy(model: TfModel, tokens: number[]): Promise<number> {
  const next = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'));
    const last = tf.slice(logits, [tokens.length - 1, 0], [1, -1]) as Tensor2D;
    return tf.argMax(last, 1);
  });
  try {
    return (await next.data())[0];
  } finally {
    next.dispose();
  }
}

/**
 * Continues `prompt` (which starts with BOS) greedily. Each step recomputes the whole prefix: the models
 * this runs on are small and a KV cache would be a second forward implementation to keep in step.
 */
export async function generateGreedy(model: TfModel, prompt: number[], options: GenerateOptions): Promise<number[]> {
  const tokens = [...prompt];
  const out: number[] = [];
  const limit = Math.min(options.maxNewTokens, model.config.maxSeqLen - prompt.length);
  for (let i = 0; i < limit; i++) {
    options.signal?.throwIfAborted();
    const next = await nextTokenGreedy(model, tokens);
    if (options.stopIds.includes(next)) break;
    tokens.push(next);
    out.push(next);
  }
  return out;
}
