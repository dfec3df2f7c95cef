/** Corpus documents as capture sequences: [BOS] + tokens truncated to maxLen, keyed by document index. */
import type { Bucketing } from '../worker/batched';
import type { CaptureSequence } from '../capture/types';
import { InfluenceLensError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';
import { readCorpus } from './corpus';
import { tokenizeDocument } from './tokenize';
import type { CorpusDocument, CorpusHooks, CorpusOptions, CorpusReport } from './types';

export type DocumentMeta = Omit<CorpusDocument, 'text'>;

export interface CorpusItem {
  doc: DocumentMeta;
  sequence: CaptureSequence;
}

/** Corpus passes batch documents by token count within windows (runBatched's bucketing): less padding. */
export const BY_TOKEN_COUNT: Bucketing<CorpusItem> = { lengthOf: (it) => it.sequence.tokens.length };

/** Documents i with i mod count = index belong to shard index/count. */
export interface Shard {
  index: number;
  count: number;
}

export function parseShard(s: string | undefined): Shard | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(s);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || index >= count) throw new InfluenceLensError('USAGE', `--shard must be i/n with 0 ≤ i < n, got "${s}"`);
  return { index, count };
}

export function inShard(index: number, shard: Shard | undefined): boolean {
  return !shard || index % shard.count === shard.index;
}

export async function* corpusItems(
  corpus: CorpusOptions,
  tokenizer: Tokenizer,
  bos: number,
  maxLen: number,
  options: { shard?: Shard; only?: Set<number>; report?: CorpusReport; signal?: AbortSignal; hooks?: CorpusHooks } = {},
): AsyncGenerator<CorpusItem> {
  for await (const doc of readCorpus(corpus, options.report, options.signal, options.hooks)) {
    if (!inShard(doc.index, options.shard) || (options.only && !options.only.has(doc.index))) continue;
    const { text, ...meta } = doc;
    // The sampling stream is keyed by the document's index: labels do not depend on batching or shards.
    yield { doc: meta, sequence: { tokens: tokenizeDocument(text, tokenizer, bos, maxLen), sampleKey: doc.index } };
  }
}
