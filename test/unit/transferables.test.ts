/**
 * What a compute thread hands over with its results instead of copying them: the buffers of its typed
 * arrays (one per buffer however many views share it; packed rows included, which were once walked
 * element by element and cloned), never a Node Buffer's pooled memory.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { transferables } from '../../server/src/engine/worker/serveTasks';

test('a result hands over each typed array buffer once, the packed rows of a batch as one, and no Node Buffer', () => {
  const rows = new Uint8Array(3 * 64);
  const values = new Float32Array(8);
  const ids = new Int32Array(4);
  const pooled = Buffer.from('corpus text');
  const result = { values, rescore: [rows.subarray(0, 64), rows.subarray(64, 128), rows.subarray(128)], nested: [{ ids }], pooled };
  const got = transferables(result);
  assert.equal(got.length, 3);
  assert.ok(got.includes(rows.buffer) && got.includes(values.buffer) && got.includes(ids.buffer));
  assert.ok(!got.includes(pooled.buffer as ArrayBuffer));
});
