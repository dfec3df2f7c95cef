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

export function parse(argv: string[], options: OptionSpec): Values {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Values;
  } catch (e) {
    throw new UsageError((e as Error).message);
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
