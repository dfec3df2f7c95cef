/** Turning a corpus document into the token sequence whose loss gradient enters the influence score. */
import { InfluenceLensError } from '../errors';
import type { Tokenizer } from '../tokenizer/types';

/** Characters per kept token encoded first for a long document (far more than any tokenizer needs). */
const PREFIX_CHARS_PER_TOKEN = 32;
/** Tokens beyond the kept ones that a prefix must reach for its first tokens to be those of the whole text. */
const PREFIX_MARGIN_TOKENS = 64;

/**
 * [bos, ...tokenizer.encode(text)] truncated to `maxLen` tokens (usually the model's context length).
 * A negative `bos` (no BOS token: see Tokenizer.bosId) prepends nothing. A long text is encoded as a
 * prefix first: tokenization is local, so once the prefix reaches well past the kept tokens (a margin of
 * PREFIX_MARGIN_TOKENS), its first tokens are the whole text's; otherwise the whole text is encoded. A
 * megabyte-long document then costs what a short one does.
 */
export function tokenizeDocument(text: string, tokenizer: Tokenizer, bos: number, maxLen: number): number[] {
  if (!Number.isSafeInteger(maxLen) || maxLen < 1) {
    throw new InfluenceLensError('UNSUPPORTED', `tokenizeDocument: maxLen must be a positive integer, got ${maxLen}`);
  }
  if (!Number.isInteger(bos)) throw new InfluenceLensError('UNSUPPORTED', `tokenizeDocument: bos must be an integer, got ${bos}`);
  const prefixChars = maxLen * PREFIX_CHARS_PER_TOKEN;
  let ids = text.length > prefixChars ? tokenizer.encode(text.slice(0, prefixChars)) : undefined;
  if (!ids || ids.length < maxLen + PREFIX_MARGIN_TOKENS) ids = tokenizer.encode(text);
  const out = bos >= 0 ? [bos] : [];
  const room = maxLen - out.length;
  for (let i = 0; i < ids.length && i < room; i++) out.push(ids[i]);
  return out;
}
