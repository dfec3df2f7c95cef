/**
 * A tiny character-level tokenizer in llama2.c's `tokenizer.bin` format, for random tiny models:
 * ids 0 '<unk>', 1 '\n<s>\n', 2 '\n</s>\n', then ' ', 'a'..'z', '.', ',' (32 pieces, all scores 0,
 * all single characters after the specials, so no merge ever applies).
 *
 * File format (run.c build_tokenizer): int32 max_token_length, then per token float32 score,
 * int32 byte length, the bytes.
 *
 * Only in-vocabulary characters should be encoded: byte fallback would map anything else to
 * byte + 3, outside this vocabulary. The encoder adds sentencepiece's dummy-prefix ' ' token.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadLlama2cTokenizer, type Llama2cTokenizer } from '../../server/src/engine/tokenizer/llama2c';

/** The ordinary characters, in id order after the three specials. */
export const CHAR_VOCAB_CHARS: readonly string[] = [' ', ...'abcdefghijklmnopqrstuvwxyz', '.', ','];

/** Every piece, in id order. */
export const CHAR_VOCAB: readonly string[] = ['<unk>', '\n<s>\n', '\n</s>\n', ...CHAR_VOCAB_CHARS];

export const CHAR_VOCAB_SIZE = CHAR_VOCAB.length;

/** The tokenizer file's bytes. */
export function charTokenizerBytes(pieces: readonly string[] = CHAR_VOCAB): Buffer {
  const encoded = pieces.map((p) => Buffer.from(p, 'utf8'));
  const parts: Buffer[] = [];
  const header = Buffer.alloc(4);
  header.writeInt32LE(Math.max(...encoded.map((b) => b.length)), 0);
  parts.push(header);
  for (const bytes of encoded) {
    const h = Buffer.alloc(8);
    h.writeFloatLE(0, 0);
    h.writeInt32LE(bytes.length, 4);
    parts.push(h, bytes);
  }
  return Buffer.concat(parts);
}

/** Writes the tokenizer file (into a fresh temp folder unless `path` is given) and returns its path. */
export function writeCharTokenizer(path?: string): string {
  const file = path ?? join(mkdtempSync(join(tmpdir(), 'il-chartok-')), 'tokenizer.bin');
  writeFileSync(file, charTokenizerBytes());
  return file;
}

/** Writes and loads the character tokenizer. */
export function charTokenizer(path?: string): Llama2cTokenizer {
  return loadLlama2cTokenizer(writeCharTokenizer(path), CHAR_VOCAB_SIZE);
}
