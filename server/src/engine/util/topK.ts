/**
 * Top/bottom-k selection over score vectors (most helpful and most harmful documents), shared by the
 * index, the runs and the analyses. Takes ArrayLike<number> (plain arrays, Float32Array, Float64Array).
 */

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
