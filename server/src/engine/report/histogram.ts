/**
 * The histogram of a query's influence over all documents: equal-width bins symmetric about 0, so
 * that 0 is an edge and every bin is all-helpful or all-harmful (the panel colours them apart and
 * draws counts on a log axis, where the few documents of the far tails stay visible).
 */
import type { Histogram } from '../../common/views';

export const DEFAULT_BINS = 60;

/**
 * Bins `scores[i] / divisor` (divisor: nllNats for per-nat scores, 1 for raw) into `bins` (even)
 * bins over [−M, M], M the largest magnitude: negative scores into [lo, hi), positive ones into
 * (lo, hi], zeros counted apart, non-finite ones left out.
 */
export function histogram(scores: ArrayLike<number>, divisor: number, bins = DEFAULT_BINS): Histogram {
  const half = Math.max(1, Math.floor(bins / 2));
  let max = 0;
  let nonFinite = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i] / divisor;
    if (!Number.isFinite(v)) nonFinite++;
    else if (Math.abs(v) > max) max = Math.abs(v);
  }
  const width = (max > 0 ? max : 1) / half;
  const counts = new Array<number>(2 * half).fill(0);
  let positive = 0;
  let negative = 0;
  let zero = 0;
  for (let i = 0; i < scores.length; i++) {
    const v = scores[i] / divisor;
    if (!Number.isFinite(v)) continue;
    if (v > 0) {
      positive++;
      counts[half + Math.min(half - 1, Math.ceil(v / width) - 1)]++;
    } else if (v < 0) {
      negative++;
      counts[half - Math.min(half, Math.ceil(-v / width))]++;
    } else zero++;
  }
  // (j − half)·width: exactly 0 at the middle edge.
  const edges = Array.from({ length: 2 * half + 1 }, (_, j) => (j - half) * width);
  return { edges, counts, positive, negative, zero, nonFinite };
}
