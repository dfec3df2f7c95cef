/**
 * The text each token of a sequence adds, for showing per-token values over text. Decoding token by token
 * is wrong for byte-level tokenizers (a character split over two tokens) and for decoders that strip or
 * join (Llama's Strip, llama2.c's space after BOS), and decoding every prefix is quadratic; so each
 * token is decoded with a few tokens of left context, and a character that only completes with a later
 * token is given to the token that completes it. The pieces concatenate to the decoded sequence.
 */
import type { Tokenizer } from './types';

/** Tokens of left context per decode: enough for any UTF-8 character (4 bytes) plus a merge. */
const CONTEXT = 6;

/** Pieces of `ids` (no BOS) in order; `prev` is the token before them (BOS for a document's first token). */
export function tokenPieces(tok: Tokenizer, ids: number[], prev?: number): string[] {
  const pieces: string[] = [];
  for (let j = 0; j < ids.length; j++) {
    const s = Math.max(0, j - CONTEXT);
    const before = s < j ? tok.decode(ids.slice(s, j), s > 0 ? ids[s - 1] : prev) : '';
    const after = tok.decode(ids.slice(s, j + 1), s > 0 ? ids[s - 1] : prev);
    let p = 0;
    while (p < before.length && p < after.length && before.charCodeAt(p) === after.charCodeAt(p)) p++;
    // Characters of `before` past the common prefix were provisional (a partial character): take them back.
    let extra = before.length - p;
    for (let k = pieces.length - 1; k >= 0 && extra > 0; k--) {
      const cut = Math.min(extra, pieces[k].length);
      pieces[k] = pieces[k].slice(0, pieces[k].length - cut);
      extra -= cut;
    }
    pieces.push(after.slice(p));
  }
  return pieces;
}
