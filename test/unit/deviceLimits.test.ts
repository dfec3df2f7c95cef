/**
 * Batch sizes on a GPU: the largest tensor of a batch must fit the adapter's largest buffer; a batch that
 * cannot is refused naming what does not fit and the batch size that would; the default batch fills the
 * buffer within the working memory (per token as tf.profile measured it, see deviceLimits.ts); CPU
 * backends keep 8.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkBatchFits,
  CPU_BATCH,
  defaultBatchSize,
  GPU_MAX_BATCH,
  gpuWorkingBytes,
  largestPerSequence,
  workingBytesPerToken,
} from '../../server/src/engine/device/deviceLimits';
import { trackedModules } from '../../server/src/engine/model/tfModel';
import type { ModelConfig } from '../../server/src/engine/model/types';
import { tinyLlamaConfig } from '../helpers/randomCheckpoint';

const MiB = 2 ** 20;
const shape = (config: ModelConfig) => ({ config, tracked: trackedModules(config) });
const demoLike = shape(tinyLlamaConfig({ vocabSize: 1024, dim: 128, hiddenDim: 352, nLayers: 4, nHeads: 4, nKvHeads: 2, maxSeqLen: 256 }));
const wide = shape(tinyLlamaConfig({ vocabSize: 1024, dim: 1024, hiddenDim: 2816, nLayers: 12, nHeads: 16, nKvHeads: 16, maxSeqLen: 256 }));

test('the largest tensor per sequence: logits for a small model, a per-document gradient for a wide one', () => {
  assert.deepEqual(largestPerSequence(demoLike, 256), { bytes: 256 * 1024 * 4, what: 'the logits (256 tokens × vocabulary 1024)' });
  const g = largestPerSequence(wide, 64);
  assert.equal(g.bytes, 2816 * 1024 * 4);
  assert.equal(g.what, 'the per-document gradient of layers.0.mlp.gate (2816 × 1024)');
});

test('a batch that fits passes; one that does not is refused with the largest batch that would fit', () => {
  checkBatchFits(demoLike, 128, 256, 128 * MiB);
  assert.throws(() => checkBatchFits(demoLike, 300, 256, 128 * MiB), {
    message:
      'a batch of 300 sequences of 256 tokens needs 300 MiB for the logits (256 tokens × vocabulary 1024), and the adapter allows 128 MiB per buffer: use a batch size of at most 128',
  });
  assert.throws(
    () => checkBatchFits(wide, 1, 64, 8 * MiB),
    /^Error: the model does not fit this device: one sequence of 64 tokens needs 11 MiB for the per-document gradient .* use a shorter maximum length or another backend \(wasm\)$/,
  );
  checkBatchFits(wide, 10_000, 256); // no per-buffer limit off WebGPU (this test runs on the cpu backend)
});

test('default batch: 8 on CPUs; on a GPU as many as the largest buffer and the working memory allow, 1 to 64', () => {
  const GiB = 2 ** 30;
  assert.equal(defaultBatchSize(demoLike, false, 128 * MiB, 2 * GiB), CPU_BATCH);
  assert.equal(defaultBatchSize(demoLike, true, 4096 * MiB, 1024 * GiB), GPU_MAX_BATCH);
  assert.equal(defaultBatchSize(demoLike, true, 16 * MiB, 1024 * GiB), 16, 'sixteen 1 MiB logits fill a 16 MiB buffer');
  const perSequence = 256 * workingBytesPerToken(wide, 256);
  assert.equal(defaultBatchSize(wide, true, 4096 * MiB, 10 * perSequence), 10, 'memory bounds the wide model');
  assert.equal(defaultBatchSize(wide, true, 4096 * MiB, 2 * GiB), 1, 'at least one sequence');
  assert.equal(defaultBatchSize(wide, true, 4 * MiB, 1024 * GiB), 1);
});

test('the working memory comes from INFLUENCE_LENS_GPU_MEMORY_GIB, 2 GiB otherwise', () => {
  assert.equal(gpuWorkingBytes({}), 2 * 2 ** 30);
  assert.equal(gpuWorkingBytes({ INFLUENCE_LENS_GPU_MEMORY_GIB: '40' }), 40 * 2 ** 30);
  assert.equal(gpuWorkingBytes({ INFLUENCE_LENS_GPU_MEMORY_GIB: 'lots' }), 2 * 2 ** 30);
});
