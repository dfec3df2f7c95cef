/**
 * The rescoring tier's two steps over one query's candidates (docs/INDEX.md, "Two tiers"): every candidate
 * by its rows' prefixes (the first factors) against the query's rank-8 factors, then the best and worst of
 * those by whole rows against the query itself. Hovers and `score --index` rank with it alike.
 */
import { bottomK, topK } from '../util/topK';
import type { RescoreReader } from '../gradindex/rescore/store';
import { QUERY_FACTOR_RANK } from '../gradindex/rescore/reductions';
import type { ScorerTurn } from '../score/tokenScoring';

/**
 * Candidates per side the second step scores with every factor: 80 / 50 showed 0.948 of the exact top 5
 * and 0.922 of the bottom 3 on the demo, 120 / 80 0.952 and 0.931 (docs/INDEX.md, "Two tiers").
 */
export const SECOND_STEP = { top: 120, bottom: 80 };

/**
 * The query's rank in each step (0: the query itself). Its spectrum falls fast: rank 8 keeps the first
 * step's best and worst as the query itself does, at half the cost; the second step, which orders the
 * documents to show, takes its rank-32 factors, made once per query (QUERY_FACTOR_RANK): on the CPU both
 * steps then run in the low-rank kernel (lowRank.wat), several times faster than a product with the query
 * itself (docs/INDEX.md, "Two tiers").
 */
export const QUERY_RANK = { first: 8, second: QUERY_FACTOR_RANK };

/**
 * Positions of the `top` best and `bottom` worst by `scores`, among `candidates` when given (else among all),
 * each once, the best first: the documents a hover and `score --rerank` score exactly.
 */
export function bestAndWorst(scores: ArrayLike<number>, candidates: number[] | undefined, top: number, bottom: number): number[] {
  const values = candidates ? Float32Array.from(candidates, (j) => scores[j]) : scores;
  const at = [...topK(values, top), ...bottomK(values, bottom)];
  return [...new Set(candidates ? at.map((c) => candidates[c]) : at)];
}

/**
 * The candidates' scores (in the order of `candidates`, index row positions) against the query set on the
 * threads; `prefixes` are their rows' prefixes, already read (reading them may overlap other work).
 */
export async function rescoreCandidates(
  turn: Pick<ScorerTurn, 'rescore'>,
  reader: RescoreReader,
  candidates: number[],
  prefixes: Uint8Array[],
): Promise<Float32Array> {
  const scores = await turn.rescore(prefixes, QUERY_RANK.first);
  const keep = [...new Set([...topK(scores, SECOND_STEP.top), ...bottomK(scores, SECOND_STEP.bottom)])];
  const second = await turn.rescore(await reader.readAsync(keep.map((c) => candidates[c])), QUERY_RANK.second);
  keep.forEach((c, k) => (scores[c] = second[k]));
  return scores;
}
