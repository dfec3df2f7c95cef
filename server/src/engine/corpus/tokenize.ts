/** Turning a corpus document into the token sequence whose loss gradient enters the influence score. */
import { InfluenceLensError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';

/**
 * [bos, ...tokenizer.encode(text)] truncated to `maxLen` tokens (usually the model's context length).
 * A negative `bos` (no BOS token: see Tokenizer.bosId) prepends nothing. The whole text is encoded
 * before truncating: encoding a prefix of the text could tokenize its last word differently.
 */
export function tokenizeDocument(text: string, tokenizer: Tokenizer, bos: number, maxLen: number): number[] {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new InfluenceLensError('UNSUPPORTED', `tokenizeDocument: maxLen must be a positive integer, got ${maxLen}`);
  }
  if (!Number.isInteger(bos)) throw new InfluenceLensError('UNSUPPORTED', `tokenizeDocument: bos must be an integer, got ${bos}`);
  const ids = tokenizer.encode(text);
  const out = bos >= 0 ? [bos] : [];
  const room = maxLen - out.length;
  for (let i = 0; i < ids.length && i < room; i++) out.push(ids[i]);
  return out;
}
