/**
 * A query's documents ranked by score, for curves and pages at any depth: one LSD radix sort of the
 * float32 scores (three 11-bit passes; a comparison sort of indices takes several times as long), which
 * also yields the scores in rank order, so that totals and curves read memory in sequence instead of
 * jumping through a million positions. The order is engine/analysis/stats.ts's: topK's (highest first,
 * equal scores by increasing position) and bottomK's (lowest first, equal scores by increasing
 * position); NaN and ±∞ are never ranked. Rankings are cached per scores array: pass the same
 * Float32Array again (e.g. for the next page) and the sort is not redone.
 */

export interface Ranking {
  /** Document positions with a finite score, highest score first. */
  readonly descending: Uint32Array;
  /** Their scores, in the same order (−0 read as 0). */
  readonly values: Float32Array;
  /** Document positions with a finite score, lowest score first (built on first use). */
  ascending(): Uint32Array;
  /** Scores that are NaN or ±∞. */
  readonly nonFinite: number;
}

const cache = new WeakMap<Float32Array, Ranking>();

export function rankingOf(scores: Float32Array): Ranking {
  let ranking = cache.get(scores);
  if (!ranking) {
    ranking = rank(scores);
    cache.set(scores, ranking);
  }
  return ranking;
}

function rank(scores: Float32Array): Ranking {
  const { order: descending, values } = sortDescending(scores);
  let ascending: Uint32Array | undefined;
  return {
    descending,
    values,
    nonFinite: scores.length - descending.length,
    ascending: () => (ascending ??= reverseKeepingTies(descending, values)),
  };
}

const BITS = 11;
const BUCKETS = 1 << BITS;
const SIGN = 0x80000000;

/**
 * Positions of the finite scores, highest first, ties by increasing position, and the sorted scores.
 * A float32's bits, sign bit flipped for positives and all bits flipped for negatives, order as
 * unsigned integers the way the floats do; complementing that key sorts descending. The sort is
 * stable and starts from increasing positions, which gives the tie order.
 */
function sortDescending(scores: Float32Array): { order: Uint32Array; values: Float32Array } {
  const bits = new Uint32Array(scores.buffer, scores.byteOffset, scores.length);
  let keys = new Uint32Array(scores.length);
  let order = new Uint32Array(scores.length);
  let n = 0;
  for (let i = 0; i < bits.length; i++) {
    let b = bits[i];
    if ((b & 0x7f800000) === 0x7f800000) continue; // exponent all ones: NaN or ±∞
    if (b === SIGN) b = 0; // −0 ranks with +0
    keys[n] = b & SIGN ? b : ~(b | SIGN); // the complement of the ascending key
    order[n++] = i;
  }
  keys = keys.subarray(0, n);
  order = order.subarray(0, n);
  let keysOut = new Uint32Array(n);
  let orderOut = new Uint32Array(n);
  const counts = new Uint32Array(BUCKETS);
  for (let shift = 0; shift < 32; shift += BITS) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[(keys[i] >>> shift) & (BUCKETS - 1)]++;
    let start = 0;
    for (let b = 0; b < BUCKETS; b++) {
      const c = counts[b];
      counts[b] = start;
      start += c;
    }
    for (let i = 0; i < n; i++) {
      const p = counts[(keys[i] >>> shift) & (BUCKETS - 1)]++;
      keysOut[p] = keys[i];
      orderOut[p] = order[i];
    }
    [keys, keysOut] = [keysOut, keys];
    [order, orderOut] = [orderOut, order];
  }
  // The keys back into floats, in place: the sorted scores.
  for (let i = 0; i < n; i++) {
    const ascendingKey = ~keys[i];
    keys[i] = ascendingKey & SIGN ? ascendingKey ^ SIGN : ~ascendingKey;
  }
  return { order, values: new Float32Array(keys.buffer, keys.byteOffset, n) };
}

/** The descending order reversed, each run of equal scores kept in increasing position. */
function reverseKeepingTies(descending: Uint32Array, values: Float32Array): Uint32Array {
  const out = new Uint32Array(descending.length);
  let o = 0;
  let end = descending.length;
  while (end > 0) {
    let start = end - 1;
    const v = values[start];
    while (start > 0 && values[start - 1] === v) start--;
    for (let i = start; i < end; i++) out[o++] = descending[i];
    end = start;
  }
  return out;
}
