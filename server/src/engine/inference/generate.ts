/**
 * Greedy (temperature 0) decoding, as llama2.c's run.c does with -t 0: the prompt runs once, then each new
 * token is fed alone against the key/value cache of the positions before it.
 */
import { tf, type Tensor2D } from '../tf';
import { KvCache } from '../model/kvCache';
import type { TfModel } from '../model/tfModel';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Token ids that end generation (not included in the output). */
  stopIds: number[];
  signal?: AbortSignal;
}

/** The argmax of the logits at the last position of `tokens`, run without a cache (the reference). */
export function nextTokenGreedy(model: TfModel, tokens: number[]): number {
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'));
    const last = tf.slice(logits, [tokens.length - 1, 0], [1, -1]) as Tensor2D;
    return tf.argMax(last, 1).dataSync()[0];
  });
}

/** Feeds `tokens` after the cached positions and answers the argmax at the last one. */
function step(model: TfModel, cache: KvCache, tokens: number[]): number {
  try {
    return tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), undefined, cache);
      const last = tf.slice(logits, [tokens.length - 1, 0], [1, -1]) as Tensor2D;
      return tf.argMax(last, 1).dataSync()[0];
    });
  } finally {
    cache.commit();
  }
}

/** Continues `prompt` (which starts with BOS) greedily. */
export function generateGreedy(model: TfModel, prompt: number[], options: GenerateOptions): number[] {
  const out: number[] = [];
  const limit = Math.min(options.maxNewTokens, model.config.maxSeqLen - prompt.length);
  if (limit <= 0) return out;
  const cache = new KvCache();
  try {
    let next = step(model, cache, prompt);
    for (let i = 0; i < limit; i++) {
      options.signal?.throwIfAborted();
      if (options.stopIds.includes(next)) break;
      out.push(next);
      if (i + 1 < limit) next = step(model, cache, [next]);
    }
    return out;
  } finally {
    cache.dispose();
  }
}

/** The same continuation, recomputing the whole prefix for every token (tests compare the two). */
export function generateGreedyUncached(model: TfModel, prompt: number[], options: GenerateOptions): number[] {
  const tokens = [...prompt];
  const out: number[] = [];
  const limit = Math.min(options.maxNewTokens, model.config.maxSeqLen - prompt.length);
  for (let i = 0; i < limit; i++) {
    options.signal?.throwIfAborted();
    const next = nextTokenGreedy(model, tokens);
    if (options.stopIds.includes(next)) break;
    tokens.push(next);
    out.push(next);
  }
  return out;
}
