/** Running the model on text: its greedy continuation, and the loss of a text. */
import { InfluenceLensError } from '../errors';
import type { ModelRun } from './modelRun';

/** The greedy (temperature 0) continuation of the prompt (from BOS when it is empty), with the prompt. */
export async function generateText(run: ModelRun, prompt: string, maxNewTokens: number): Promise<string> {
  const tokens = [run.bos, ...run.tokenizer.encode(prompt)];
  if (tokens.length >= run.context) {
    throw new InfluenceLensError('USAGE', `the prompt has ${tokens.length} tokens; the model's context is ${run.context}`);
  }
  const out = await run.pool.run({ kind: 'generate', prompt: tokens, maxNewTokens, stopIds: run.stopIds });
  // Logits that overflowed make every argmax 0 (a NUL character, say): one pass over the result tells.
  const all = [...tokens, ...out].slice(0, run.context);
  if (all.length > 1) assertFiniteLosses(run, await run.pool.run({ kind: 'tokenLosses', tokens: all }));
  return run.tokenizer.decode([...tokens.slice(1), ...out], run.bos);
}

/**
 * Finite weights can still overflow float32 in the forward pass (a norm gain of 1e38, say); the losses
 * are then NaN or infinite and nothing computed from them means anything.
 */
function assertFiniteLosses(run: ModelRun, losses: number[]): void {
  const t = losses.findIndex((x) => !Number.isFinite(x));
  if (t < 0) return;
  const file = run.options.model;
  throw new InfluenceLensError(
    'MODEL_NUMERICS',
    `${file}: the model's loss is ${losses[t]} at token ${t + 1}: its weights are finite but its forward pass overflows float32 (a corrupt or diverged checkpoint)`,
    { file },
  );
}

export interface TextLoss {
  tokens: number[];
  sumNats: number;
  meanNats: number;
}

/** Next-token cross-entropy of [BOS] + tokenize(text), over the predictions after BOS. */
export async function textLoss(run: ModelRun, text: string): Promise<TextLoss> {
  const tokens = [run.bos, ...run.tokenizer.encode(text)];
  if (tokens.length > run.context) {
    throw new InfluenceLensError('USAGE', `the text has ${tokens.length} tokens; the model's context is ${run.context}`);
  }
  const losses = await run.pool.run({ kind: 'tokenLosses', tokens });
  assertFiniteLosses(run, losses);
  const sumNats = losses.reduce((a, b) => a + b, 0);
  return { tokens, sumNats, meanNats: losses.length ? sumNats / losses.length : 0 };
}
