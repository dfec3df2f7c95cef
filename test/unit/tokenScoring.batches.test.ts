/**
 * The per-token pass's batches (lengthBatches): every document once, at most `most` a batch, one batch per
 * thread when they fit, and the split whose slowest batch (count × longest) is least — checked against
 * every contiguous split, found by brute force.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lengthBatches } from '../../server/src/engine/score/tokenScoring';

const cost = (lengths: number[], b: number[]) => b.length * Math.max(1, ...b.map((i) => lengths[i]));

test('two long documents and four short ones go to two threads as the long pair and the short four', () => {
  const lengths = [10, 100, 10, 10, 100, 10];
  assert.deepEqual(
    lengthBatches(lengths, 2, 8).map((b) => [...b].sort((x, y) => x - y)),
    [
      [0, 2, 3, 5],
      [1, 4],
    ],
  );
});

test('batches cover every document once, within the size limit, with the least slowest batch', () => {
  let seed = 7;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 200; trial++) {
    const n = 1 + Math.floor(rand() * 14);
    const parts = 1 + Math.floor(rand() * 3);
    const most = 1 + Math.floor(rand() * 8);
    const lengths = Array.from({ length: n }, () => 1 + Math.floor(rand() * 256));
    const batches = lengthBatches(lengths, parts, most);
    const count = Math.max(parts, Math.ceil(n / most));
    assert.deepEqual(
      batches.flat().sort((a, b) => a - b),
      lengths.map((_, i) => i),
    );
    assert.ok(batches.length <= count && batches.every((b) => b.length > 0 && b.length <= most));
    // Brute force over contiguous splits of the sorted order into at most `count` batches.
    const sorted = [...lengths].sort((a, b) => a - b);
    const best = (from: number, left: number): number => {
      if (from === n) return 0;
      if (left === 0) return Infinity;
      let m = Infinity;
      for (let to = from + 1; to <= Math.min(n, from + most); to++) m = Math.min(m, Math.max((to - from) * sorted[to - 1], best(to, left - 1)));
      return m;
    };
    const got = Math.max(...batches.map((b) => cost(lengths, b)));
    assert.equal(got, best(0, count), `lengths ${lengths} parts ${parts} most ${most}`);
  }
});
