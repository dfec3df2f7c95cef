/**
 * A small, deterministic byte-level BPE trainer for the demo, and a writer for the Hugging Face
 * `tokenizer.json` + `tokenizer_config.json` it produces (loadable by @huggingface/tokenizers
 * and so by the engine's loadHuggingFaceTokenizer).
 *
 * Pre-tokenization mirrors what the written tokenizer.json declares, a Sequence of
 *   1. Digits (individual_digits: true): every digit is its own piece, so numbers are read
 *      digit by digit and arithmetic stays learnable for a small model;
 *   2. ByteLevel (GPT-2's regex, no prefix space): words, numbers, punctuation runs and
 *      whitespace, each mapped to GPT-2's printable byte alphabet.
 * Ids: the 256 byte symbols (in byte order), then one token per merge, then the special tokens
 * (<|bos|>, <|eos|>), so vocabSize counts all three. Ties between equally frequent pairs are
 * broken by the pair's symbols (code-unit order), so the result depends only on the texts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const BOS_TOKEN = '<|bos|>';
export const EOS_TOKEN = '<|eos|>';
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [BOS_TOKEN, EOS_TOKEN];
export const DEFAULT_VOCAB_SIZE = 1024;

/** GPT-2's byte → printable character table (the one @huggingface/tokenizers' ByteLevel uses). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = bs.slice();
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n);
      n++;
    }
  }
  const table: string[] = new Array(256);
  bs.forEach((b, i) => (table[b] = String.fromCharCode(cs[i])));
  return table;
})();

const DIGITS = /[^\d]+|\d/gu;
const BYTE_LEVEL = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
const encoder = new TextEncoder();

/** The pieces of `text` (as text) that the written tokenizer.json's pre-tokenizer cuts it into. */
export function preTokenizeText(text: string): string[] {
  const out: string[] = [];
  for (const part of text.match(DIGITS) ?? []) for (const piece of part.match(BYTE_LEVEL) ?? []) out.push(piece);
  return out;
}

/** The same pieces in GPT-2's byte alphabet: the words BPE trains on. */
export function preTokenize(text: string): string[] {
  return preTokenizeText(text).map((piece) => {
    let s = '';
    for (const byte of encoder.encode(piece)) s += BYTE_TO_CHAR[byte];
    return s;
  });
}

export interface TrainOptions {
  /** Total vocabulary: 256 bytes + merges + special tokens. */
  vocabSize?: number;
  specialTokens?: readonly string[];
  /** Stop early when the best pair occurs fewer times than this. */
  minFrequency?: number;
}

export interface BpeModel {
  /** Token → id, ids 0..vocabSize-1 without gaps. */
  vocab: Map<string, number>;
  /** Merges in priority order. */
  merges: [string, string][];
  specialTokens: string[];
}

/** Trains byte-level BPE on `texts` (each text is pre-tokenized on its own). */
export function trainBpe(texts: Iterable<string>, options: TrainOptions = {}): BpeModel {
  const specialTokens = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  const vocabSize = options.vocabSize ?? DEFAULT_VOCAB_SIZE;
  const minFrequency = options.minFrequency ?? 2;
  const maxMerges = vocabSize - 256 - specialTokens.length;
  if (maxMerges < 0) throw new Error(`vocabSize ${vocabSize} is smaller than 256 bytes + ${specialTokens.length} special tokens`);

  // Unique pre-tokens with their counts, in first-seen order.
  const counts = new Map<string, number>();
  for (const text of texts) for (const w of preTokenize(text)) counts.set(w, (counts.get(w) ?? 0) + 1);

  const symbols: string[] = BYTE_TO_CHAR.slice();
  const symbolId = new Map<string, number>(symbols.map((s, i) => [s, i]));
  const words: number[][] = [];
  const freq: number[] = [];
  for (const [w, c] of counts) {
    words.push(Array.from(w, (ch) => symbolId.get(ch) as number));
    freq.push(c);
  }

  // Pair statistics: key = left * 2^16 + right (ids stay below 2^16).
  const SHIFT = 65536;
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addWord = (wi: number, sign: 1 | -1) => {
    const w = words[wi];
    for (let i = 0; i + 1 < w.length; i++) {
      const key = w[i] * SHIFT + w[i + 1];
      const next = (pairCount.get(key) ?? 0) + sign * freq[wi];
      if (next === 0) pairCount.delete(key);
      else pairCount.set(key, next);
      if (sign === 1) {
        let set = pairWords.get(key);
        if (set === undefined) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addWord(wi, 1);

  const merges: [string, string][] = [];
  while (merges.length < maxMerges) {
    let bestKey = -1;
    let bestCount = 0;
    for (const [key, c] of pairCount) {
      if (c > bestCount || (c === bestCount && bestKey >= 0 && comparePairs(symbols, key, bestKey) < 0)) {
        bestKey = key;
        bestCount = c;
      }
    }
    if (bestKey < 0 || bestCount < minFrequency) break;
    const left = Math.floor(bestKey / SHIFT);
    const right = bestKey % SHIFT;
    const merged = symbols[left] + symbols[right];
    const id = symbols.length;
    if (symbolId.has(merged)) throw new Error(`BPE: duplicate symbol ${JSON.stringify(merged)}`);
    symbols.push(merged);
    symbolId.set(merged, id);
    merges.push([symbols[left], symbols[right]]);
    const affected = [...(pairWords.get(bestKey) ?? [])].sort((a, b) => a - b);
    pairWords.delete(bestKey);
    for (const wi of affected) {
      const w = words[wi];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) if (w[i] === left && w[i + 1] === right) has = true;
      if (!has) continue;
      addWord(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === left && w[i + 1] === right) {
          out.push(id);
          i++;
        } else out.push(w[i]);
      }
      words[wi] = out;
      addWord(wi, 1);
    }
  }

  const vocab = new Map<string, number>();
  symbols.forEach((s, i) => vocab.set(s, i));
  for (const t of specialTokens) {
    if (vocab.has(t)) throw new Error(`special token ${t} collides with a learned token`);
    vocab.set(t, vocab.size);
  }
  return { vocab, merges, specialTokens };
}

function comparePairs(symbols: readonly string[], a: number, b: number): number {
  const SHIFT = 65536;
  const la = symbols[Math.floor(a / SHIFT)];
  const lb = symbols[Math.floor(b / SHIFT)];
  if (la !== lb) return la < lb ? -1 : 1;
  const ra = symbols[a % SHIFT];
  const rb = symbols[b % SHIFT];
  return ra === rb ? 0 : ra < rb ? -1 : 1;
}

/** The Hugging Face tokenizer.json object for a trained model. */
export function tokenizerJson(model: BpeModel): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.specialTokens.map((content) => ({
      id: model.vocab.get(content),
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [{ type: 'Digits', individual_digits: true }, byteLevel],
    },
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(model.vocab),
      merges: model.merges,
    },
  };
}

/** tokenizer_config.json: names BOS and EOS for the engine's loader. */
export function tokenizerConfig(model: BpeModel): Record<string, unknown> {
  return {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: model.specialTokens[0] ?? null,
    eos_token: model.specialTokens[1] ?? model.specialTokens[0] ?? null,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

/** Writes tokenizer.json and tokenizer_config.json into `dir` (created if needed). */
export function writeTokenizer(dir: string, model: BpeModel): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(model)) + '\n');
  writeFileSync(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(model), null, 2) + '\n');
}
