/**
 * The sorted top-k curve on log–log axes, sampled at ranks so that a million documents become a few
 * hundred points (the curve is monotone, so the samples are exact values, not averages), with the
 * power law fitted by engine/analysis/powerLaw.ts over the top documents.
 */
import { fitPowerLaw } from '../analysis/powerLaw';
import { finite } from '../analysis/groups';
import type { CurveFit, RankCurve, TopKCurve } from '../../common/views';

/** Every rank up to `dense`, then about `perDecade` ranks per factor of ten, and always `count`. */
export function sampleRanks(count: number, dense = 50, perDecade = 40): number[] {
  const ranks: number[] = [];
  for (let r = 1; r <= Math.min(dense, count); r++) ranks.push(r);
  const step = Math.pow(10, 1 / perDecade);
  for (let r = ranks.length ? ranks[ranks.length - 1] : 0; r < count;) {
    r = Math.min(count, Math.max(r + 1, Math.round(r * step)));
    ranks.push(r);
  }
  return ranks;
}

/** The curve of `magnitude(i)` for the first `count` ranks (i = rank − 1). */
function rankCurve(count: number, magnitude: (i: number) => number): RankCurve {
  const ranks = sampleRanks(count);
  return { ranks, values: ranks.map((r) => magnitude(r - 1)), count };
}

/**
 * The curves from the scores in rank order (`values`, highest first, as ./ranking.ts gives them),
 * divided by `divisor` (nllNats for per-nat scores). `maxRank` caps the fit as in the analysis.
 */
export function topKCurve(values: Float32Array, divisor: number, maxRank: number): TopKCurve {
  const n = values.length;
  let positives = 0;
  while (positives < n && values[positives] > 0) positives++;
  let negatives = 0;
  while (negatives < n && values[n - 1 - negatives] < 0) negatives++;
  // Only the top maxRank enter the fit: pass those (already sorted) rather than every score.
  const head = Float64Array.from({ length: Math.min(maxRank, positives) }, (_, i) => values[i] / divisor);
  const fitted = fitPowerLaw(head, maxRank);
  const fit: CurveFit | null = fitted
    ? { alpha: finite(fitted.alpha), intercept: finite(fitted.intercept), r2: finite(fitted.r2), points: fitted.points, maxRank }
    : null;
  return {
    positive: rankCurve(positives, (i) => values[i] / divisor),
    negative: rankCurve(negatives, (i) => -values[n - 1 - i] / divisor),
    fit,
  };
}
