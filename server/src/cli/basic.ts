/** `generate` and `loss`: run the model on text. */
import { bosId, stopIds } from '../engine/model/openModel';
import { safeForTerminal } from '../engine/util/terminal';
import { COMMON_OPTIONS, MODEL_OPTIONS, int, parse, str, UsageError } from './args';
import { withModel } from './context';

export async function generate(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, { ...COMMON_OPTIONS, ...MODEL_OPTIONS, prompt: { type: 'string', default: '' }, 'max-tokens': { type: 'string', default: '256' } });
  const maxNewTokens = int(v, 'max-tokens')!;
  // One sequence at a time: a worker would only add a copy of the model.
  await withModel(v, signal, { workers: 0 }, async (m) => {
    const bos = bosId(m);
    const prompt = [bos, ...m.tokenizer.encode(v.prompt as string)];
    if (prompt.length >= m.checkpoint.config.maxSeqLen) {
      throw new UsageError(`the prompt has ${prompt.length} tokens; the model's context is ${m.checkpoint.config.maxSeqLen}`);
    }
    const out = await m.pool.run({ kind: 'generate', prompt, maxNewTokens, stopIds: stopIds(m) });
    const text = m.tokenizer.decode([...prompt.slice(1), ...out], bos);
    process.stdout.write(safeForTerminal(text.endsWith('\n') ? text : text + '\n', { multiline: true }));
  });
}

export async function loss(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, { ...COMMON_OPTIONS, ...MODEL_OPTIONS, text: { type: 'string' } });
  const text = str(v, 'text');
  await withModel(v, signal, { workers: 0 }, async (m) => {
    const tokens = [bosId(m), ...m.tokenizer.encode(text)];
    if (tokens.length > m.checkpoint.config.maxSeqLen) {
      throw new UsageError(`the text has ${tokens.length} tokens; the model's context is ${m.checkpoint.config.maxSeqLen}`);
    }
    const losses = await m.pool.run({ kind: 'tokenLosses', tokens });
    const sumNats = losses.reduce((a, b) => a + b, 0);
    process.stdout.write(JSON.stringify({ tokens, sumNats, meanNats: losses.length ? sumNats / losses.length : 0 }) + '\n');
  });
}
