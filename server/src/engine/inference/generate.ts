/**
 * Greedy (temperature 0) decoding, as llama2.c's run.c does with -t 0: the prompt runs once, then each new
 * token is fed alone against the key/value cache of the positions before it. Each step queues its work,
 * then reads back the one token id asynchronously (WebGPU cannot read synchronously in Node).
 */
import { tf, type Tensor, type Tensor2D } from '../tf';
import { KvCache } from '../model/kvCache';
import type { TfModel } from '../model/tfModel';

export interface GenerateOptions {
  maxNewTokens: number;
  /** Token ids that end generation (not included in the output). */
  stopIds: number[];
  /** Stop at the end of the first line that has content (a hover's answer, not what the model rattles off after it). */
  lineEnd?: LineEndTokens;
  signal?: AbortSignal;
}

/** The vocabulary as the first-line stop sees it. */
export interface LineEndTokens {
  /** Tokens whose text contains a newline. */
  newline: number[];
  /** Tokens whose text is whitespace only (newlines included). */
  blank: number[];
}

/**
 * Whether generation ends before `next`, or after it (`keep`: a token with content and then a newline):
 * at a newline once some content has been produced.
 */
function endsLine(next: number, sawContent: boolean, line: { newline: Set<number>; blank: Set<number> }): 'no' | 'before' | 'after' {
  if (!sawContent || !line.newline.has(next)) return 'no';
  return line.blank.has(next) ? 'before' : 'after';
}

/** Reads a one-element int32 tensor, then disposes it. */
async function readId(t: Tensor): Promise<number> {
  try {
    return (await t.data())[0];
  } finally {
    t.dispose();
  }
}

/** The argmax of the logits at the last position of `tokens`, run without a cache (the reference). */
export async function nextTokenGreedy(model: TfModel, tokens: number[]): Promise<number> {
  const next = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'));
    const last = tf.slice(logits, [tokens.length - 1, 0], [1, -1]) as Tensor2D;
    return tf.argMax(last, 1);
  });
  return readId(next);
}

/** Feeds `tokens` after the cached positions and answers the argmax at the last one. */
async function step(model: TfModel, cache: KvCache, tokens: number[]): Promise<number> {
  let next: Tensor;
  try {
    next = tf.tidy(() => {
      const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'), undefined, cache);
      const last = tf.slice(logits, [tokens.length - 1, 0], [1, -1]) as Tensor2D;
      return tf.argMax(last, 1);
    });
  } finally {
    // The replaced keys and values go once the step's work is queued (the backend keeps what it still reads).
    cache.commit();
  }
  return readId(next);
}

/** Continues `prompt` (which starts with BOS) greedily. */
export async function generateGreedy(model: TfModel, prompt: number[], options: GenerateOptions): Promise<number[]> {
  const out: number[] = [];
  const limit = Math.min(options.maxNewTokens, model.config.maxSeqLen - prompt.length);
  if (limit <= 0) return out;
  const cache = new KvCache();
  const line = options.lineEnd && { newline: new Set(options.lineEnd.newline), blank: new Set(options.lineEnd.blank) };
  let sawContent = false;
  try {
    let next = await step(model, cache, prompt);
    for (let i = 0; i < limit; i++) {
      options.signal?.throwIfAborted();
      if (options.stopIds.includes(next)) break;
      const end = line ? endsLine(next, sawContent, line) : 'no';
      if (end === 'before') break;
      out.push(next);
      if (end === 'after') break;
      sawContent ||= line !== undefined && !line.blank.has(next);
      if (i + 1 < limit) next = await step(model, cache, [next]);
    }
    return out;
  } finally {
    cache.dispose();
  }
}

/** The same continuation, recomputing the whole prefix for every token (tests compare the two). */
export async function generateGreedyUncached(model: TfModel, prompt: number[], options: GenerateOptions): Promise<number[]> {
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
