/**
 * Trains the demo tokenizer on the demo corpus, writes tokenizer.json + tokenizer_config.json,
 * and checks that every document round-trips through the engine's Hugging Face loader.
 *
 *   npx tsx demo/src/tokenizer/main.ts [--corpus demo/data/corpus.jsonl] [--out demo/data/tokenizer] [--vocab 1024]
 *
 * Without a corpus file the default corpus is generated in memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadHuggingFaceTokenizer } from '../../../server/src/engine/tokenizer/huggingface';
import type { Tokenizer } from '../../../server/src/engine/tokenizer/types';
import { DEFAULT_SEED, DEFAULT_SIZE, DEMO_SOURCES, type DemoDocument, generateCorpus } from '../corpus/generate';
import { DEFAULT_CORPUS_PATH } from '../corpus/main';
import { DEFAULT_VOCAB_SIZE, trainBpe, writeTokenizer } from './trainBpe';

export const DEFAULT_TOKENIZER_DIR = resolve(__dirname, '..', '..', 'data', 'tokenizer');

export function readCorpusJsonl(file: string): DemoDocument[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as DemoDocument);
}

export interface TokenStats {
  documents: number;
  tokens: number;
  maxTokens: number;
  meanTokens: number;
  perSource: Record<string, { documents: number; tokens: number; maxTokens: number }>;
  /** Ids of documents that did not decode back to their text. */
  mismatches: string[];
}

/** Encodes every document, checks decode(encode(text)) === text, and counts tokens. */
export function tokenStats(tok: Tokenizer, docs: readonly DemoDocument[]): TokenStats {
  const perSource: TokenStats['perSource'] = {};
  const mismatches: string[] = [];
  let tokens = 0;
  let maxTokens = 0;
  for (const d of docs) {
    const ids = tok.encode(d.text);
    if (tok.decode(ids) !== d.text) mismatches.push(d.id);
    tokens += ids.length;
    maxTokens = Math.max(maxTokens, ids.length);
    const s = (perSource[d.source] ??= { documents: 0, tokens: 0, maxTokens: 0 });
    s.documents++;
    s.tokens += ids.length;
    s.maxTokens = Math.max(s.maxTokens, ids.length);
  }
  return { documents: docs.length, tokens, maxTokens, meanTokens: tokens / Math.max(1, docs.length), perSource, mismatches };
}

function arg(args: string[], name: string): string | undefined {
  const at = args.indexOf(name);
  return at >= 0 ? args[at + 1] : undefined;
}

export function main(args: string[]): void {
  const corpusPath = resolve(arg(args, '--corpus') ?? DEFAULT_CORPUS_PATH);
  const out = resolve(arg(args, '--out') ?? DEFAULT_TOKENIZER_DIR);
  const vocabSize = Number(arg(args, '--vocab') ?? DEFAULT_VOCAB_SIZE);
  if (!Number.isSafeInteger(vocabSize)) throw new Error(`--vocab needs an integer`);
  const docs = existsSync(corpusPath) ? readCorpusJsonl(corpusPath) : generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE });
  const t0 = performance.now();
  const model = trainBpe(
    docs.map((d) => d.text),
    { vocabSize },
  );
  const trainMs = performance.now() - t0;
  writeTokenizer(out, model);
  const tok = loadHuggingFaceTokenizer(out);
  const t1 = performance.now();
  const stats = tokenStats(tok, docs);
  const checkMs = performance.now() - t1;
  console.log(
    `trained a byte-level BPE tokenizer (vocab ${tok.vocabSize}, ${model.merges.length} merges, bos ${tok.bosId}, eos ${tok.eosId}) in ${(trainMs / 1000).toFixed(2)} s; wrote ${out}`,
  );
  console.log(
    `corpus: ${stats.documents} documents, ${stats.tokens} tokens, mean ${stats.meanTokens.toFixed(1)}, max ${stats.maxTokens} per document (encode+decode check ${(checkMs / 1000).toFixed(2)} s)`,
  );
  for (const s of DEMO_SOURCES) {
    const p = stats.perSource[s];
    if (p !== undefined) console.log(`  ${s.padEnd(5)} ${String(p.documents).padStart(5)} docs ${String(p.tokens).padStart(8)} tokens  max ${p.maxTokens}`);
  }
  if (stats.mismatches.length > 0) {
    console.error(`round trip FAILED for ${stats.mismatches.length} documents, e.g. ${stats.mismatches.slice(0, 5).join(', ')}`);
    process.exitCode = 1;
  } else console.log('round trip: every document decodes back to its text');
}

if (require.main === module) main(process.argv.slice(2));
