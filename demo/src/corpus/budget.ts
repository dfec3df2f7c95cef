/**
 * Document length budget. The demo tokenizer is trained on the corpus, so documents cannot be
 * measured in its tokens while they are generated; they are measured in pre-tokens instead
 * (words, single digits, punctuation runs, whitespace runs: the pieces BPE merges within), a
 * lower bound on the token count that tracks it closely (about 1.1–1.3 tokens per piece with
 * the 1024-token demo vocabulary; code with long identifiers takes more).
 */
import { preTokenize } from '../tokenizer/trainBpe';
import { documentDone, draft, type Draft } from './labels';

/** At most this many pre-tokens per document (about 200 tokens with the demo tokenizer). */
export const MAX_PIECES = 160;

export function pieces(text: string): number {
  return preTokenize(text).length;
}

/**
 * Calls `make` until its document fits the budget; after `tries` draws, the shortest one. Each draw is
 * a labels draft: the labels of the document kept are those of its kept draw (labels.ts).
 */
export function fit(make: () => string, tries = 40): string {
  let best: Draft<string> | undefined;
  let bestN = Infinity;
  for (let i = 0; i < tries; i++) {
    const d = draft(make);
    const n = pieces(d.value);
    if (n <= MAX_PIECES) return documentDone(d);
    if (n < bestN) {
      best = d;
      bestN = n;
    }
  }
  return documentDone(best ?? { value: '', notes: [] });
}
