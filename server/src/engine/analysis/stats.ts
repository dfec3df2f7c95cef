/**
 * Small statistics over score vectors: correlations (query-query heatmaps, low-rank vs full-rank
 * agreement) and top/bottom-k selection (most helpful and most harmful documents). Everything takes
 * ArrayLike<number> (plain arrays, Float32Array, Float64Array) and computes in float64.
 */

/**
 * Pearson's correlation coefficient r ∈ [−1, 1]. NaN when there are fewer than two points, when
 * either input is constant, or when an input contains NaN. Throws on a length mismatch.
 */
export function pearson(x: ArrayLike<number>, y: ArrayLike<number>): number {
  const n = sameLength(x, y, 'pearson');
  if (n < 2) return NaN;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = x[i] - mx;
    const dy = y[i] - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return NaN;
  const r = sxy / (Math.sqrt(sxx) * Math.sqrt(syy));
  return Math.max(-1, Math.min(1, r));
}

/**
 * Spearman's rank correlation: Pearson's r of the average ranks (ties share the mean of the ranks
 * they span, as scipy.stats.spearmanr does). NaN in the cases {@link pearson} gives NaN.
 */
export function spearman(x: ArrayLike<number>, y: ArrayLike<number>): number {
  sameLength(x, y, 'spearman');
  return pearson(ranks(x), ranks(y));
}

/**
 * 1-based ranks in ascending order of value, ties given the average of the ranks they span
 * (scipy.stats.rankdata's 'average'): ranks([10, 20, 10]) = [1.5, 3, 1.5]. NaN entries get rank NaN
 * and do not count towards the others' ranks.
 */
export function ranks(x: ArrayLike<number>): Float64Array {
  const n = x.length;
  const out = new Float64Array(n);
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    if (Number.isNaN(x[i])) out[i] = NaN;
    else idx.push(i);
  }
  idx.sort((a, b) => x[a] - x[b] || a - b);
  for (let p = 0; p < idx.length; ) {
    let q = p + 1;
    while (q < idx.length && x[idx[q]] === x[idx[p]]) q++;
    const r = (p + 1 + q) / 2; // mean of ranks p+1 … q
    for (let t = p; t < q; t++) out[idx[t]] = r;
    p = q;
  }
  return out;
}

/**
 * Indices of the k largest values, largest first; equal values in increasing index order (so the
 * result is deterministic). NaN entries are never selected (the result is shorter when fewer than
 * k values are numbers). O(n log k).
 */
export function topK(values: ArrayLike<number>, k: number): number[] {
  return selectK(values, k, 1);
}

/** Indices of the k smallest values, smallest first; ties and NaN as in {@link topK}. */
export function bottomK(values: ArrayLike<number>, k: number): number[] {
  return selectK(values, k, -1);
}

/** Bounded heap selection; sign 1 selects the largest, −1 the smallest. */
function selectK(values: ArrayLike<number>, k: number, sign: 1 | -1): number[] {
  const want = Math.max(0, Math.min(Math.floor(k), values.length));
  if (want === 0) return [];
  // a ranks before b: larger (sign·value), then smaller index.
  const before = (a: number, b: number): boolean => {
    const va = sign * values[a];
    const vb = sign * values[b];
    return va > vb || (va === vb && a < b);
  };
  // Min-heap by `before`: the root is the selected entry that ranks last.
  const heap: number[] = [];
  const siftUp = (i: number): void => {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(heap[parent], heap[i])) break;
      [heap[parent], heap[i]] = [heap[i], heap[parent]];
      i = parent;
    }
  };
  const siftDown = (i: number): void => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let worst = i;
      if (l < heap.length && before(heap[worst], heap[l])) worst = l;
      if (r < heap.length && before(heap[worst], heap[r])) worst = r;
      if (worst === i) return;
      [heap[worst], heap[i]] = [heap[i], heap[worst]];
      i = worst;
    }
  };
  for (let i = 0; i < values.length; i++) {
    if (Number.isNaN(values[i])) continue;
    if (heap.length < want) {
      heap.push(i);
      siftUp(heap.length - 1);
    } else if (before(i, heap[0])) {
      heap[0] = i;
      siftDown(0);
    }
  }
  return heap.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
}

function sameLength(x: ArrayLike<number>, y: ArrayLike<number>, what: string): number {
  if (x.length !== y.length) throw new RangeError(`${what}: lengths differ (${x.length} vs ${y.length})`);
  return x.length;
}
