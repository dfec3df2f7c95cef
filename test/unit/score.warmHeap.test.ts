/**
 * A compute thread's heap made ready for a per-token pass (the first hover's pass otherwise writes fresh
 * pages): grown to the size asked for, nothing left allocated, and a no-op once it is that large.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../server/src/engine/device/backend';
import { scoreHandlers } from '../../server/src/engine/score/tasks';
import { perTokenPassHeapBytes } from '../../server/src/engine/score/tokenScoring';
import type { ThreadState } from '../../server/src/engine/device/deviceState';
import { tf } from '../../server/src/engine/tf';
import type { ModelConfig } from '../../server/src/engine/model/types';

test('warmHeap grows the wasm heap to the bytes asked for and frees what it wrote', async () => {
  await initBackend('wasm');
  const thread = {} as ThreadState; // the handler keeps no state
  const tensors = tf.memory().numTensors;
  const bytes = 96 * 2 ** 20;
  const grown = await scoreHandlers.warmHeap(thread, { kind: 'warmHeap', bytes });
  assert.ok(grown >= bytes, `heap ${grown} after asking for ${bytes}`);
  assert.equal(tf.memory().numTensors, tensors);
  assert.equal(await scoreHandlers.warmHeap(thread, { kind: 'warmHeap', bytes: bytes / 2 }), grown, 'a heap already large enough is left alone');
});

test('the heap a per-token pass needs grows with the model and is capped', () => {
  const demo = { vocabSize: 1024, dim: 128, hiddenDim: 352, nLayers: 4, nHeads: 4 } as ModelConfig;
  const demoBytes = perTokenPassHeapBytes(demo, 256);
  // The demo's threads reached ~300 MB over a hover's pass of 7 documents.
  assert.ok(demoBytes > 250e6 && demoBytes < 450e6, `${demoBytes}`);
  assert.ok(perTokenPassHeapBytes({ ...demo, nLayers: 8 }, 256) > demoBytes);
  assert.equal(perTokenPassHeapBytes({ ...demo, vocabSize: 128_256, dim: 2048, nLayers: 16 }, 2048), 512 * 2 ** 20);
});
