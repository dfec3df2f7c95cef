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
  return run.tokenizer.decode([...tokens.slice(1), ...out], run.bos);
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
  const sumNats = losses.reduce((a, b) => a + b, 0);
  return { tokens, sumNats, meanNats: losses.length ? sumNats / losses.length : 0 };
}
