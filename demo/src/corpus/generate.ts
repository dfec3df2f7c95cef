/**
 * The demo corpus: `generateCorpus({ seed, size })` gives `size` documents labelled code, math,
 * qa, wiki and web, deterministically (same seed and size, same corpus, byte for byte). Each
 * source draws from its own random stream. The problems of the demo queries are reserved and
 * never appear in the corpus.
 */
import { Rng } from '../rng';
import { reservedKeys } from '../queries';
import { generateCode } from './code';
import { generateMath } from './math';
import { generateQa } from './qa';
import { DEFAULT_SHARES, DEMO_SOURCES, type DemoDocument, type DemoSource, type GenerateOptions } from './types';
import { generateWeb } from './web';
import { generateWiki } from './wiki';
import { collectDocuments, type DocumentLabels } from './labels';

export { DEFAULT_SEED, DEFAULT_SHARES, DEFAULT_SIZE, DEMO_SOURCES } from './types';
export type { DemoDocument, DemoSource, GenerateOptions } from './types';

/** Documents per source for `size` documents: largest remainders, in DEMO_SOURCES order on ties. */
export function sourceCounts(size: number, shares: Partial<Record<DemoSource, number>> = DEFAULT_SHARES): Record<DemoSource, number> {
  const weights = DEMO_SOURCES.map((s) => Math.max(0, shares[s] ?? 0));
  const total = weights.reduce((a, b) => a + b, 0);
  if (!(total > 0)) throw new Error('generateCorpus: shares must not all be zero');
  const exact = weights.map((w) => (w / total) * size);
  const counts = exact.map(Math.floor);
  let left = size - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((x, i) => ({ i, r: x - Math.floor(x) })).sort((a, b) => b.r - a.r || a.i - b.i);
  for (const { i } of order) {
    if (left <= 0) break;
    counts[i]++;
    left--;
  }
  return Object.fromEntries(DEMO_SOURCES.map((s, i) => [s, counts[i]])) as Record<DemoSource, number>;
}

/** A document with what it states and shows (labels.ts). */
export interface LabelledDocument extends DemoDocument {
  labels: DocumentLabels;
}

export function generateCorpus(options: GenerateOptions): DemoDocument[] {
  return generateLabelledCorpus(options).map(({ id, source, text }) => ({ id, source, text }));
}

/** The corpus of generateCorpus, each document with its labels (the same documents, byte for byte). */
export function generateLabelledCorpus(options: GenerateOptions): LabelledDocument[] {
  const { seed, size } = options;
  if (!Number.isSafeInteger(seed)) throw new Error(`generateCorpus: seed must be a safe integer, got ${seed}`);
  if (!Number.isSafeInteger(size) || size < 1) throw new Error(`generateCorpus: size must be a positive integer, got ${size}`);
  const counts = sourceCounts(size, options.shares);
  const reserved = reservedKeys();
  const made: Record<DemoSource, ReturnType<typeof collectDocuments>> = {
    code: collectDocuments(() => generateCode(new Rng(seed, 'code'), counts.code, reserved)),
    math: collectDocuments(() => generateMath(new Rng(seed, 'math'), counts.math, reserved)),
    qa: collectDocuments(() => generateQa(new Rng(seed, 'qa'), counts.qa, reserved)),
    wiki: collectDocuments(() => generateWiki(new Rng(seed, 'wiki'), counts.wiki)),
    web: collectDocuments(() => generateWeb(new Rng(seed, 'web'), counts.web, reserved)),
  };
  const docs: LabelledDocument[] = [];
  for (const source of DEMO_SOURCES) {
    const { texts, labels } = made[source];
    texts.forEach((text, i) => docs.push({ id: `${source}-${String(i + 1).padStart(4, '0')}`, source, text, labels: labels[i] }));
  }
  // Interleave the sources, as in a shuffled pretraining sample.
  return new Rng(seed, 'order').shuffle(docs);
}

/** The corpus as JSONL (one `{"id","source","text"}` object per line). */
export function corpusJsonl(docs: readonly DemoDocument[]): string {
  return docs.map((d) => JSON.stringify({ id: d.id, source: d.source, text: d.text })).join('\n') + '\n';
}
