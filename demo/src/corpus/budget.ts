/**
 * Document length budget. The demo tokenizer is trained on the corpus, so documents cannot be
 * measured in its tokens while they are generated; they are measured in pre-tokens instead
 * (words, single digits, punctuation runs, whitespace runs: the pieces BPE merges within), a
 * lower bound on the token count that tracks it closely (about 1.1–1.3 tokens per piece with
 * the 1024-token demo vocabulary; code with long identifiers takes more).
 */
import { preTokenize } from '../tokenizer/trainBpe';

/** At most this many pre-tokens per document (about 200 tokens with the demo tokenizer). */
export const MAX_PIECES = 160;

export function pieces(text: string): number {
  return preTokenize(text).length;
}

/** Calls `make` until its document fits the budget; after `tries` draws, the shortest one. */
export function fit(make: () => string, tries = 40): string {
  let best = '';
  let bestN = Infinity;
  for (let i = 0; i < tries; i++) {
    const text = make();
    const n = pieces(text);
    if (n <= MAX_PIECES) return text;
    if (n < bestN) {
      best = text;
      bestN = n;
    }
  }
  return best;
}
