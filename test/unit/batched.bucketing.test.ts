/**
 * Length bucketing in runBatched: every item is scored once, each window is sorted by length before it is
 * cut into batches (less padding), the results do not depend on the number of threads, the sums equal those
 * of input-order batches to float32 rounding, and onWindow follows each window's last result.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import { runBatched } from '../../server/src/engine/worker/batched';
import type { TaskOf, TaskResults } from '../../server/src/engine/compute/taskTable';
import type { CaptureSequence } from '../../server/src/engine/capture/types';
import { randomCheckpoint, tinyLlamaConfig } from '../helpers/randomCheckpoint';

const ckpt = randomCheckpoint(tinyLlamaConfig({ maxSeqLen: 128 }), 5);
const lengths = [40, 3, 77, 12, 9, 60, 25, 5, 33, 71, 8, 50, 17, 2, 64, 29, 11];
const items = lengths.map((n, i) => ({ id: i, sequence: { tokens: Array.from({ length: n }, (_, t) => ((t * 7 + i) % 60) + 1) } as CaptureSequence }));

async function covariance(workers: number, window: number | undefined) {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers });
  const batches: number[][] = [];
  const events: string[] = [];
  const sums = new Map<string, Float64Array>();
  try {
    await runBatched<(typeof items)[number], TaskOf<'covariance'>, TaskResults>(
      pool,
      items,
      3,
      (b) => ({ kind: 'covariance', sequences: b.map((it) => it.sequence), options: { labels: 'actual', seed: 0 } }),
      (r, b) => {
        batches.push(b.map((it) => it.id));
        events.push('batch');
        for (const m of [...r.A, ...r.S]) {
          const acc = sums.get(m.name + r.A.indexOf(m)) ?? new Float64Array(m.data.length);
          m.data.forEach((x, i) => (acc[i] += x));
          sums.set(m.name + r.A.indexOf(m), acc);
        }
      },
      undefined,
      {},
      window === undefined ? undefined : { lengthOf: (it) => it.sequence.tokens.length, window, onWindow: () => void events.push('window') },
    );
  } finally {
    await pool.dispose();
  }
  return { batches, events, sums };
}

const padded = (batches: number[][]) => batches.reduce((s, b) => s + b.length * Math.max(...b.map((i) => lengths[i])), 0);

test('bucketed batches cover every item once, sorted by length within each window, with less padding', async () => {
  const plain = await covariance(1, undefined);
  const bucketed = await covariance(1, 2);
  assert.deepEqual(
    bucketed.batches.flat().sort((a, b) => a - b),
    lengths.map((_, i) => i),
  );
  // Windows of 2 batches × 3 items: items 0–5, 6–11, 12–16, each sorted by length (ties by input order).
  const windows = [items.slice(0, 6), items.slice(6, 12), items.slice(12)].map((w) =>
    [...w].sort((x, y) => x.sequence.tokens.length - y.sequence.tokens.length || x.id - y.id).map((it) => it.id),
  );
  assert.deepEqual(bucketed.batches, [
    windows[0].slice(0, 3),
    windows[0].slice(3),
    windows[1].slice(0, 3),
    windows[1].slice(3),
    windows[2].slice(0, 3),
    windows[2].slice(3),
  ]);
  assert.deepEqual(bucketed.events, ['batch', 'batch', 'window', 'batch', 'batch', 'window', 'batch', 'batch', 'window']);
  assert.ok(padded(bucketed.batches) < padded(plain.batches) * 0.8, `padding ${padded(bucketed.batches)} vs ${padded(plain.batches)}`);
  // The same sums as input-order batches, to float32 rounding (batches pad differently).
  for (const [name, acc] of plain.sums) {
    const other = bucketed.sums.get(name)!;
    const scale = Math.max(...acc.map(Math.abs));
    acc.forEach((x, i) => assert.ok(Math.abs(other[i] - x) <= 1e-5 * scale, `${name}[${i}]: ${other[i]} vs ${x}`));
  }
});

test('bucketed results are identical for 1 and 2 threads', async () => {
  const one = await covariance(1, 4);
  const two = await covariance(2, 4);
  assert.deepEqual(two.batches, one.batches);
  for (const [name, acc] of one.sums) assert.deepEqual(two.sums.get(name), acc, `${name} differs between 1 and 2 threads`);
});
