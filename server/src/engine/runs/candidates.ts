/**
 * Which documents a query's rescoring considers: the sketch's best and worst by its estimate (the most
 * helpful and most harmful sides), united with BM25's best for the prompt and completion (documents that
 * state the answer, which a sketch of a flat spectrum ranks poorly). Counts measured in docs/INDEX.md.
 */
import { bottomK, topK } from '../util/topK';
import type { LexicalSearch } from '../gradindex/lexical';

export interface CandidateCounts {
  /** The sketch's best (most helpful). */
  top: number;
  /** The sketch's worst (most harmful). */
  bottom: number;
  /** BM25's best. */
  lexical: number;
}

/** Candidates in all by default (influenceLens.hover.candidates), split by candidateCounts: about 1,100 once united. */
export const DEFAULT_CANDIDATE_TOTAL = 1350;

/**
 * A total split over the sources in the shares measured on the demo (docs/INDEX.md, "Two tiers"): BM25
 * 16/27 (it finds most of the exact top documents, and many of the most harmful, which share the prompt's
 * words), the sketch's worst 6/27 and best 5/27.
 */
export function candidateCounts(total: number): CandidateCounts {
  const top = Math.round((total * 5) / 27);
  const bottom = Math.round((total * 6) / 27);
  return { top, bottom, lexical: Math.max(0, total - top - bottom) };
}

export const DEFAULT_CANDIDATES = candidateCounts(DEFAULT_CANDIDATE_TOTAL);

/** How many candidates each source gave (a row from two sources counts for both), and the union's size. */
export interface CandidateSources {
  sketch: number;
  lexical: number;
  union: number;
}

/** Row positions of the candidates (each once, sketch's first) and where they came from. */
export function candidateRows(
  estimates: Float32Array,
  lexical: LexicalSearch | undefined,
  text: string,
  n: CandidateCounts,
): { rows: number[]; sources: CandidateSources } {
  const sketch = [...topK(estimates, n.top), ...bottomK(estimates, n.bottom)];
  const words = lexical && n.lexical > 0 ? lexical.search(text, n.lexical) : [];
  const rows = [...new Set([...sketch, ...words])];
  return { rows, sources: { sketch: new Set(sketch).size, lexical: words.length, union: rows.length } };
}
