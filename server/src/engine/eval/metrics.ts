/**
 * Retrieval and datamodeling metrics for attributions (docs/EVALUATION.md), pure functions over one
 * query's scores (higher = more influential / more relevant).
 *
 * Ties. Some methods give many documents the same score (BM25 gives 0 to every document without a query
 * word; an oracle gives its relevant documents one score). A fixed tie order would reward documents
 * that happen to come first, so every metric is its expectation over a uniformly random order within
 * tied scores: a document with `above` documents scoring higher and `tied` scoring the same (itself
 * included) is at each rank above+1 … above+tied with equal probability.
 */
import { spearman, mean, sd } from '../analysis/stats';

/** Score levels from the highest: how many documents score higher, how many tie, per document. */
interface Levels {
  /** Document positions sorted by score, highest first (NaN last). */
  order: Int32Array;
  /** Per document: documents scoring strictly higher. */
  above: Int32Array;
  /** Per document: documents scoring the same (itself included). */
  tied: Int32Array;
}

function levels(scores: ArrayLike<number>): Levels {
  const n = scores.length;
  const key = (i: number) => (Number.isNaN(scores[i]) ? -Infinity : scores[i]);
  const order = Int32Array.from({ length: n }, (_, i) => i).sort((a, b) => key(b) - key(a) || a - b);
  const above = new Int32Array(n);
  const tied = new Int32Array(n);
  for (let p = 0; p < n;) {
    let q = p + 1;
    while (q < n && key(order[q]) === key(order[p])) q++;
    for (let t = p; t < q; t++) {
      above[order[t]] = p;
      tied[order[t]] = q - p;
    }
    p = q;
  }
  return { order, above, tied };
}

/** P(rank ≤ k) of a document with `above` higher and `tied` equal scores. */
function inTopK(above: number, tied: number, k: number): number {
  return Math.max(0, Math.min(1, (k - above) / tied));
}

/** Expected number of `members` (document positions) among the top k. */
export function expectedInTopK(scores: ArrayLike<number>, members: Iterable<number>, k: number): number {
  const l = levels(scores);
  let s = 0;
  for (const d of members) s += inTopK(l.above[d], l.tied[d], k);
  return s;
}

/** Expected recall@k: the share of the relevant documents among the top k (NaN with none relevant). */
export function recallAtK(scores: ArrayLike<number>, relevant: ReadonlySet<number>, k: number): number {
  if (relevant.size === 0) return NaN;
  return expectedInTopK(scores, relevant, k) / relevant.size;
}

/**
 * Expected reciprocal rank of the first relevant document (0 with none relevant). In the highest score
 * level holding r relevant documents among t tied ones, after g higher ones, the first relevant one is
 * at g + j with probability C(t−j, r−1)/C(t, r).
 */
export function reciprocalRank(scores: ArrayLike<number>, relevant: ReadonlySet<number>): number {
  if (relevant.size === 0) return 0;
  const l = levels(scores);
  let g = Infinity;
  for (const d of relevant) g = Math.min(g, l.above[d]);
  const first = [...relevant].find((d) => l.above[d] === g)!;
  const t = l.tied[first];
  let r = 0;
  for (const d of relevant) if (l.above[d] === g) r++;
  let p = r / t; // P(first relevant at j = 1)
  let rr = 0;
  for (let j = 1; j <= t - r + 1 && p > 0; j++) {
    rr += p / (g + j);
    p *= (t - j - r + 1) / (t - j);
  }
  return rr;
}

/** Share of the top k that are `members`, divided by their share of the corpus (1: as in the corpus). */
export function multiplierAtK(scores: ArrayLike<number>, members: ReadonlySet<number>, k: number): number {
  const n = scores.length;
  if (members.size === 0 || n === 0) return NaN;
  const kk = Math.min(k, n);
  return expectedInTopK(scores, members, kk) / kk / (members.size / n);
}

/**
 * Linear datamodeling score of one query (Park et al. 2023): Spearman's ρ between the losses measured
 * on models trained on subsets S_m and the attribution's prediction for each subset. A positive score
 * means training on the document lowers the query's loss, so the prediction of the loss is
 * −Σ_{d∈S_m} score(d), and LDS = ρ(−Σ score, loss) = ρ(Σ score, −loss); 1 is a perfect ranking.
 */
export function linearDatamodelingScore(scores: ArrayLike<number>, subsets: readonly (readonly number[])[], losses: ArrayLike<number>): number {
  if (subsets.length !== losses.length) throw new RangeError(`LDS: ${subsets.length} subsets but ${losses.length} losses`);
  const predicted = subsets.map((s) => {
    let sum = 0;
    for (const d of s) sum += scores[d];
    return -sum;
  });
  return spearman(predicted, losses);
}

export interface MeanSe {
  n: number;
  mean: number;
  /** Standard error of the mean, sd/√n (NaN for n < 2). */
  se: number;
}

/** Mean and standard error over the finite values. */
export function meanSe(values: readonly number[]): MeanSe {
  const v = values.filter(Number.isFinite);
  return { n: v.length, mean: mean(v), se: v.length > 1 ? sd(v) / Math.sqrt(v.length) : NaN };
}
