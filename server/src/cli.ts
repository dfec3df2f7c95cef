/**
 * The `influence-lens` command line: a thin adapter over the engine. Results go to stdout, progress and
 * diagnostics to stderr; Ctrl-C aborts the running command.
 */
import { parseArgs } from 'node:util';
import { parseBackendRequest } from './engine/backend/backend';
import { ComputePool } from './engine/backend/pool';
import { isInfluenceLensError } from './engine/errors';
import { bosId, openModel, stopIds } from './engine/model/openModel';

const USAGE = `usage: influence-lens <command> [options]

commands:
  generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-tokens N]
      print the model's greedy (temperature 0) continuation of the prompt (default: from BOS)
  loss --model PATH [--tokenizer PATH] --text TEXT
      print {"tokens", "sumNats", "meanNats"}: next-token loss of the text after BOS

PATH is a Hugging Face folder (config.json, model.safetensors, tokenizer.json) or a llama2.c .bin
checkpoint (then --tokenizer is its tokenizer .bin; default tokenizer.bin beside it).

common options:
  --backend auto|tensorflow-gpu|tensorflow|wasm|cpu   (default auto; the choice is printed on stderr)
  --quiet                                             no diagnostics on stderr
`;

const OPTIONS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
  prompt: { type: 'string', default: '' },
  'max-tokens': { type: 'string', default: '256' },
  text: { type: 'string' },
  backend: { type: 'string', default: 'auto' },
  quiet: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

class UsageError extends Error {}

function required(values: Values, name: 'model' | 'text'): string {
  const v = values[name];
  if (v === undefined || v === '') throw new UsageError(`missing --${name}`);
  return v;
}

function positiveInt(s: string, flag: string): number {
  const n = Number(s);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${flag} must be a positive integer, got "${s}"`);
  return n;
}

async function withModel<T>(values: Values, fn: (ctx: Awaited<ReturnType<typeof openModel>> & { pool: ComputePool }) => Promise<T>) {
  const opened = await openModel(required(values, 'model'), values.tokenizer);
  // One sequence at a time: a worker would only add a copy of the model.
  const pool = await ComputePool.create(opened.checkpoint, { backend: parseBackendRequest(values.backend), workers: 0 });
  if (!values.quiet) process.stderr.write(`influence-lens: backend ${pool.backend.name} (${pool.backend.reason})\n`);
  try {
    return await fn({ ...opened, pool });
  } finally {
    await pool.dispose();
  }
}

const commands: Record<string, (values: Values) => Promise<void>> = {
  async generate(values) {
    const maxNewTokens = positiveInt(values['max-tokens']!, 'max-tokens');
    await withModel(values, async (m) => {
      const bos = bosId(m);
      const prompt = [bos, ...m.tokenizer.encode(values.prompt!)];
      if (prompt.length >= m.checkpoint.config.maxSeqLen) {
        throw new UsageError(`the prompt has ${prompt.length} tokens; the model's context is ${m.checkpoint.config.maxSeqLen}`);
      }
      const out = await m.pool.run({ kind: 'generate', prompt, maxNewTokens, stopIds: stopIds(m) });
      const text = m.tokenizer.decode([...prompt.slice(1), ...out], bos);
      process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    });
  },
  async loss(values) {
    const text = required(values, 'text');
    await withModel(values, async (m) => {
      const tokens = [bosId(m), ...m.tokenizer.encode(text)];
      if (tokens.length > m.checkpoint.config.maxSeqLen) {
        throw new UsageError(`the text has ${tokens.length} tokens; the model's context is ${m.checkpoint.config.maxSeqLen}`);
      }
      const losses = await m.pool.run({ kind: 'tokenLosses', tokens });
      const sumNats = losses.reduce((a, b) => a + b, 0);
      process.stdout.write(JSON.stringify({ tokens, sumNats, meanNats: losses.length ? sumNats / losses.length : 0 }) + '\n');
    });
  },
};

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (e) {
    process.stderr.write(`influence-lens: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || !command) {
    process.stdout.write(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  const run = commands[command];
  if (!run) {
    process.stderr.write(`influence-lens: unknown command "${command}"\n\n${USAGE}`);
    return 2;
  }
  try {
    await run(parsed.values);
    return 0;
  } catch (e) {
    process.stderr.write(`influence-lens ${command}: ${describeError(e)}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
}

function describeError(e: unknown): string {
  if (isInfluenceLensError(e)) {
    const where = e.file ? ` (${e.file}${e.line ? `:${e.line}` : ''})` : '';
    return e.message.includes(e.file ?? '\0') ? e.message : e.message + where;
  }
  if (e instanceof Error) return process.env.INFLUENCE_LENS_DEBUG ? String(e.stack) : e.message;
  return String(e);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`influence-lens: ${describeError(e)}\n`);
      process.exit(1);
    },
  );
}
