/**
 * The defaults and limits every adapter shares (CLI flags, server settings, demo, bench): one place, so
 * a hover and `influence-lens score` compute the same thing from the same inputs.
 */
import { InfluenceLensError } from '../errors';

/** Fitting documents when not given (kronfluence's and the paper's sample size, docs/EKFAC.md). */
export const DEFAULT_MAX_DOCS = 100_000;
/** The default maximum length: the model's context, capped here (documents are cut to it). */
export const MAX_LEN_CAP = 512;
/** New tokens of a greedy completion when the query has none. */
export const DEFAULT_MAX_NEW_TOKENS = 64;
// Documents per compute task (results never depend on it): the pool's batchSize, 8 on CPUs and what the
// adapter holds on a GPU (device/deviceLimits.ts).

/** Tokens per document ([BOS] included) when fitting without --max-len. */
export function defaultMaxLen(context: number): number {
  return Math.min(context, MAX_LEN_CAP);
}

/** A maximum length must fit the model's context and hold at least BOS and one token. */
export function checkMaxLen(maxLen: number, context: number): number {
  if (!Number.isInteger(maxLen) || maxLen < 2) {
    throw new InfluenceLensError('USAGE', `the maximum length must be a whole number ≥ 2, got ${maxLen}`);
  }
  if (maxLen > context) throw new InfluenceLensError('USAGE', `the maximum length ${maxLen} exceeds the model's context of ${context}`);
  return maxLen;
}
