/**
 * Writes the demo corpus as JSONL.
 *
 *   npx tsx demo/src/corpus/main.ts [--seed N] [--size N] [--out demo/data/corpus.jsonl]
 *
 * and its ground truth beside it (labels.jsonl in the same folder, see labelsFile.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { buildQueries } from '../queries';
import { DEFAULT_SEED, DEFAULT_SIZE, DEMO_SOURCES, corpusJsonl, generateLabelledCorpus } from './generate';
import { labelsJsonl } from './labelsFile';

export const DEFAULT_CORPUS_PATH = resolve(__dirname, '..', '..', 'data', 'corpus.jsonl');

/** The labels file written beside a corpus file. */
export function labelsPathFor(corpus: string): string {
  return join(dirname(corpus), 'labels.jsonl');
}

/** Writes the corpus and its labels; returns the documents. */
export function writeLabelledCorpus(out: string, seed: number, size: number) {
  const docs = generateLabelledCorpus({ seed, size });
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, corpusJsonl(docs));
  writeFileSync(labelsPathFor(out), labelsJsonl(docs, buildQueries()));
  return docs;
}

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
  const docs = writeLabelledCorpus(out, seed, size);
  const text = corpusJsonl(docs);
  const ms = performance.now() - t0;
  const per = DEMO_SOURCES.map((s) => `${s} ${docs.filter((d) => d.source === s).length}`).join(', ');
  const chars = docs.reduce((n, d) => n + d.text.length, 0);
  console.log(
    `wrote ${docs.length} documents (${per}; ${chars} characters, ${(Buffer.byteLength(text) / 1e6).toFixed(2)} MB) to ${out} in ${(ms / 1000).toFixed(2)} s (seed ${seed}), labels to ${labelsPathFor(out)}`,
  );
}

if (require.main === module) main(process.argv.slice(2));
