/**
 * The compute pool's scheduling: interactive tasks overtake waiting background ones, a foreground lease
 * holds background tasks back until released, a waiting task whose signal aborts never runs, and a
 * run hands its buffers over without a copy.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import type { Task } from '../../server/src/engine/compute/taskTable';
import { packRows, unpackRows } from '../../server/src/engine/score/tasks';
import { randomCheckpoint, tinyLlamaConfig } from '../helpers/randomCheckpoint';

const ckpt = randomCheckpoint(tinyLlamaConfig({ maxSeqLen: 256 }), 1);
/** A task long enough to still be running when the next ones are queued. */
const slow: Task = {
  kind: 'capture',
  sequences: Array.from({ length: 8 }, () => ({ tokens: Array.from({ length: 200 }, (_, i) => (i % 60) + 1) })),
  options: { labels: 'actual', seed: 0 },
};
const quick: Task = { kind: 'memory' };

test('interactive tasks overtake waiting background tasks', { timeout: 120_000 }, async () => {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers: 1 });
  try {
    const order: string[] = [];
    const background = Array.from({ length: 4 }, (_, i) => pool.run(slow).then(() => order.push(`b${i}`)));
    const interactive = pool.run(quick, { priority: 'interactive' }).then(() => order.push('i'));
    await Promise.all([...background, interactive]);
    // b0 was running when the interactive task arrived; it then goes before b1…b3.
    assert.deepEqual(order, ['b0', 'i', 'b1', 'b2', 'b3']);
  } finally {
    await pool.dispose();
  }
});

test('a foreground lease holds background tasks back; aborted waiting tasks never run', { timeout: 120_000 }, async () => {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers: 2 });
  try {
    const order: string[] = [];
    const release = pool.foreground();
    const background = pool.each(() => quick).then(() => order.push('background'));
    for (let i = 0; i < 3; i++) await pool.run(quick, { priority: 'interactive' }).then(() => order.push(`i${i}`));
    assert.equal(pool.waiting, 2, 'both background tasks wait while the lease is held');
    const abort = new AbortController();
    const dropped = pool.run(slow, { signal: abort.signal });
    abort.abort(new Error('stale'));
    await assert.rejects(dropped, /stale/);
    assert.equal(pool.waiting, 2, 'the aborted task left the queue');
    release();
    await background;
    assert.deepEqual(order, ['i0', 'i1', 'i2', 'background']);
    assert.equal(pool.waiting, 0);
  } finally {
    await pool.dispose();
  }
});

test('in this thread (a GPU, tfjs-node, workers 0): the same queue, leases and aborts', { timeout: 120_000 }, async () => {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers: 0 });
  try {
    assert.equal(pool.size, 1);
    const order: string[] = [];
    const release = pool.foreground();
    const background = pool.run(quick).then(() => order.push('background'));
    await pool.run(quick, { priority: 'interactive' }).then(() => order.push('interactive'));
    assert.equal(pool.waiting, 1, 'the background task waits while the lease is held');
    const abort = new AbortController();
    const dropped = pool.run(slow, { signal: abort.signal });
    abort.abort(new Error('stale'));
    await assert.rejects(dropped, /stale/);
    release();
    await background;
    assert.deepEqual(order, ['interactive', 'background']);
    assert.equal(pool.waiting, 0);
    // Without a lease tasks start at once, two at a time (one's results may travel while the next is queued).
    const results = await Promise.all([pool.run(quick), pool.run(quick), pool.run(quick)]);
    assert.equal(results.length, 3);
  } finally {
    await pool.dispose();
  }
});

test("a run's transferred buffers go to the worker thread without a copy; a broadcast never detaches them", { timeout: 120_000 }, async () => {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers: 2 });
  try {
    const given = new ArrayBuffer(1024);
    await pool.run(quick, { transfer: [given] });
    assert.equal(given.byteLength, 0, 'the buffer was handed over (detached here)');
    const kept = new ArrayBuffer(1024);
    await pool.broadcast(quick, { transfer: [kept] });
    assert.equal(kept.byteLength, 1024);
  } finally {
    await pool.dispose();
  }
});

test('rows packed for a thread come back as the same bytes, each 8-byte aligned', () => {
  const rows = [5, 13, 21].map((seed) => Uint8Array.from({ length: 37 }, (_, i) => (seed * i) & 255));
  const packed = packRows(rows);
  const back = unpackRows(packed);
  assert.deepEqual(
    back.map((r) => [...r]),
    rows.map((r) => [...r]),
  );
  assert.ok(back.every((r) => r.byteOffset % 8 === 0));
  assert.throws(() => packRows([rows[0], rows[1].subarray(1)]), /differ in size/);
});
