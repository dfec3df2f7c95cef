/**
 * A loaded model that predicts text no better than chance is almost always loaded wrongly: a config.json
 * of another family, a tokenizer of another model, weights stored transposed. The loss of a few plain
 * sentences tells, before hours of fitting do.
 */
import type { ModelRun } from './modelRun';

/** Plain sentences (short, and in the style of the small story models too). */
const PROBES = [
  'Once upon a time, there was a little girl named Lily. She liked to play outside with her dog.',
  'The sun was shining and the birds were singing in the trees.',
  'He opened the door, looked at the sky and said that it would rain today.',
];

/** Mean next-token loss of [BOS] + each text's tokens, reversed or not. */
async function meanLoss(run: ModelRun, reversed: boolean): Promise<number> {
  let nats = 0;
  let count = 0;
  for (const text of PROBES) {
    const ids = run.tokenizer.encode(text);
    const tokens = [run.bos, ...(reversed ? ids.reverse() : ids)].slice(0, run.context);
    if (tokens.length < 2) continue;
    const losses = await run.pool.run({ kind: 'tokenLosses', tokens });
    nats += losses.reduce((a, b) => a + b, 0);
    count += losses.length;
  }
  return count === 0 ? NaN : nats / count;
}

/**
 * A warning naming the likely causes when the probes' mean next-token loss is near the uniform ln(vocab)
 * and no better than that of the same tokens reversed; undefined otherwise. The second test spares small
 * models trained on other text (the demo model's loss on these is above ln(vocab), but far below the
 * reversed tokens'): any trained model prefers text in order, a wrongly loaded one cannot tell.
 */
export async function plausibilityWarning(run: ModelRun): Promise<string | undefined> {
  const c = run.checkpoint.config;
  const uniform = Math.log(c.vocabSize);
  const inOrder = await meanLoss(run, false);
  // Non-finite losses are refused where they are used (runs/text.ts).
  if (!Number.isFinite(inOrder) || inOrder < 0.85 * uniform) return undefined;
  const reversed = await meanLoss(run, true);
  if (reversed - inOrder > 0.1 * uniform) return undefined;
  return (
    `warning: ${run.options.model}: the loss of plain English sentences is ${inOrder.toFixed(2)} nats per token, ` +
    `no better than chance among ${c.vocabSize} tokens (${uniform.toFixed(2)}) nor than the same tokens reversed (${reversed.toFixed(2)}). ` +
    `Unless the model is untrained, the likely cause is a config.json of another family (it says ${c.architecture}), ` +
    `a tokenizer of another model, or weights stored transposed`
  );
}
