/**
 * How text becomes BM25 terms, as MiniSearch's defaults split it (the index's first lexical format was
 * MiniSearch's, and the candidate counts in docs/INDEX.md were measured with it): tokens split on spaces,
 * line breaks and punctuation; terms are the tokens lower-cased, empty ones dropped; a document's length is
 * its number of distinct tokens before lower-casing (MiniSearch's field length).
 */
const SPACE_OR_PUNCTUATION = /[\n\r\p{Z}\p{P}]+/u;

/** Okapi BM25's usual constants (MiniSearch's BM25+ term d = 0 made it plain BM25). */
export const BM25 = { k: 1.2, b: 0.75 };

/** A document's terms (with repeats) and its length. */
export function documentTerms(text: string): { terms: string[]; length: number } {
  const tokens = text.split(SPACE_OR_PUNCTUATION);
  return { terms: termsOf(tokens), length: new Set(tokens).size };
}

/** A query's terms, in order and with repeats (a repeated term counts again, as it did in MiniSearch). */
export function queryTerms(text: string): string[] {
  return termsOf(text.split(SPACE_OR_PUNCTUATION));
}

function termsOf(tokens: string[]): string[] {
  return tokens.map((t) => t.toLowerCase()).filter((t) => t.length > 0);
}

/** A document's share of BM25's denominator, k1 · (1 − b + b · length / average) (MiniSearch's order of operations). */
export function lengthNorm(length: number, averageLength: number): number {
  return BM25.k * (1 - BM25.b + (BM25.b * length) / averageLength);
}

/** One term's BM25 weight in one document (MiniSearch's formula, so that scores agree to the last bit). */
export function termScore(idf: number, tf: number, norm: number): number {
  return idf * ((tf * (BM25.k + 1)) / (tf + norm));
}

/** Lucene's idf, as MiniSearch computes it. */
export function inverseDocumentFrequency(documents: number, containing: number): number {
  return Math.log(1 + (documents - containing + 0.5) / (containing + 0.5));
}
