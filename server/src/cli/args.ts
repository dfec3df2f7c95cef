/** Argument helpers shared by the CLI commands. */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in how the command was called: exit code 2 and the usage text. */
export class UsageError extends Error {}

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | string[] | undefined>;

export const COMMON_OPTIONS = {
  backend: { type: 'string', default: 'auto' },
  workers: { type: 'string' },
  quiet: { type: 'boolean', default: false },
  verbose: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const satisfies OptionSpec;

export const MODEL_OPTIONS = {
  model: { type: 'string' },
  tokenizer: { type: 'string' },
} as const satisfies OptionSpec;

export const CORPUS_OPTIONS = {
  corpus: { type: 'string' },
  'text-field': { type: 'string' },
  'id-field': { type: 'string' },
  'source-field': { type: 'string' },
  'batch-size': { type: 'string' },
} as const satisfies OptionSpec;

/** A value that starts with '-' but is a number (`--damping -1`): joined to its option so the parser takes it. */
const NEGATIVE_NUMBER = /^-(\d|\.\d|Infinity$)/;

export function parse(argv: string[], options: OptionSpec): Values {
  const joined: string[] = [];
  for (const a of argv) {
    const previous = joined[joined.length - 1];
    if (previous !== undefined && NEGATIVE_NUMBER.test(a) && takesValue(previous, options)) joined[joined.length - 1] = `${previous}=${a}`;
    else joined.push(a);
  }
  try {
    return parseArgs({ args: joined, options, allowPositionals: false, strict: true }).values as Values;
  } catch (e) {
    throw new UsageError(parseErrorMessage(e as Error & { code?: string }, options));
  }
}

function takesValue(arg: string, options: OptionSpec): boolean {
  return arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string';
}

/** Our own sentence for the argument parser's errors (its texts talk about positionals and `-XYZ`). */
function parseErrorMessage(e: Error & { code?: string }, options: OptionSpec): string {
  const quoted = /'([^']*)'/.exec(e.message)?.[1] ?? '';
  const option = quoted.split(' ')[0];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument "${quoted}" (options are written --name VALUE)`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      const name = option.replace(/^-+/, '');
      if (options[name]?.type === 'boolean') return `${option} takes no value`;
      return /ambiguous/.test(e.message) ? `${option} needs a value (a value that starts with "-" is written ${option}=VALUE)` : `${option} needs a value`;
    }
    default:
      return e.message;
  }
}

export function str(v: Values, name: string): string {
  const x = v[name];
  if (typeof x !== 'string' || x === '') throw new UsageError(`missing --${name}`);
  return x;
}

export function optStr(v: Values, name: string): string | undefined {
  const x = v[name];
  return typeof x === 'string' && x !== '' ? x : undefined;
}

export function int(v: Values, name: string, { min = 1 } = {}): number | undefined {
  const x = optStr(v, name);
  if (x === undefined) return undefined;
  const n = Number(x);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got "${x}"`);
  return n;
}

export function num(v: Values, name: string): number | undefined {
  const x = optStr(v, name);
  if (x === undefined) return undefined;
  const n = Number(x);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--${name} must be a non-negative number, got "${x}"`);
  return n;
}

export function oneOf<T extends string>(v: Values, name: string, allowed: readonly T[], fallback: T): T {
  const x = optStr(v, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(x)) throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got "${x}"`);
  return x as T;
}
