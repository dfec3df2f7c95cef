/**
 * Writes the demo corpus as JSONL.
 *
 *   npx tsx demo/src/corpus/main.ts [--seed N] [--size N] [--out demo/data/corpus.jsonl]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULT_SEED, DEFAULT_SIZE, DEMO_SOURCES, corpusJsonl, generateCorpus } from './generate';

export const DEFAULT_CORPUS_PATH = resolve(__dirname, '..', '..', 'data', 'corpus.jsonl');

function intArg(args: string[], name: string, fallback: number): number {
  const at = args.indexOf(name);
  if (at < 0) return fallback;
  const v = Number(args[at + 1]);
  if (!Number.isSafeInteger(v)) throw new Error(`${name} needs an integer, got ${String(args[at + 1])}`);
  return v;
}

export function main(args: string[]): void {
  const seed = intArg(args, '--seed', DEFAULT_SEED);
  const size = intArg(args, '--size', DEFAULT_SIZE);
  const at = args.indexOf('--out');
  const out = at >= 0 && args[at + 1] !== undefined ? resolve(args[at + 1]) : DEFAULT_CORPUS_PATH;
  const t0 = performance.now();
  const docs = generateCorpus({ seed, size });
  const text = corpusJsonl(docs);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  const ms = performance.now() - t0;
  const per = DEMO_SOURCES.map((s) => `${s} ${docs.filter((d) => d.source === s).length}`).join(', ');
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  console.log(`wrote ${docs.length} documents (${per}; ${chars} characters, ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB) to ${out} in ${(ms / 1000).toFixed(2)} s (seed ${seed})`);
}

if (require.main === module) main(process.argv.slice(2));
