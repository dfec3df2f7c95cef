/** `generate` and `loss`: run the model on text. */
import { generateText, safeForTerminal, textLoss } from '../engine/api';
import { COMMON_OPTIONS, MODEL_OPTIONS, int, parse, str } from './args';
import { withModel } from './context';

export async function generate(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, { ...COMMON_OPTIONS, ...MODEL_OPTIONS, prompt: { type: 'string', default: '' }, 'max-tokens': { type: 'string', default: '256' } });
  const maxNewTokens = int(v, 'max-tokens')!;
  // One sequence at a time: a worker would only add a copy of the model.
  await withModel(v, signal, { workers: 0 }, async ({ run }) => {
    const text = await generateText(run, v.prompt as string, maxNewTokens);
    process.stdout.write(safeForTerminal(text.endsWith('\n') ? text : text + '\n', { multiline: true }));
  });
}

export async function loss(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, { ...COMMON_OPTIONS, ...MODEL_OPTIONS, text: { type: 'string' } });
  const text = str(v, 'text');
  await withModel(v, signal, { workers: 0 }, async ({ run }) => {
    process.stdout.write(JSON.stringify(await textLoss(run, text)) + '\n');
  });
}
