/**
 * Per-token captures: Σ_t g_t a_tᵀ must equal autograd's gradient of the tracked weights (and biases),
 * padding and loss masks must be honoured, sampled labels must be reproducible from the seed whatever
 * the batching, and results must not depend on the number of workers or the batch size.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../server/src/engine/device/backend';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import { captureBatch } from '../../server/src/engine/capture/captureBatch';
import { captureStream } from '../../server/src/engine/capture/stream';
import type { CaptureSequence, LabelMode } from '../../server/src/engine/capture/types';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import { TfModel } from '../../server/src/engine/model/tfModel';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { tf } from '../../server/src/engine/tf';
import { autogradWeightGradients } from '../helpers/autograd';
import { randomCheckpoint, tinyGpt2Config, tinyLlamaConfig } from '../helpers/randomCheckpoint';
import { assertRelClose } from '../helpers/compare';
import { referenceLoss } from '../helpers/referenceForward';
import { SKIP_NO_SHARED, STORIES260K } from '../helpers/fixtures';
import { gradientFromCaptures } from '../helpers/modelOutputs';

before(() => initBackend('wasm'));

/** Sequences of different lengths (so the batch is padded); the second masks its first half (a "prompt"). */
function sequences(vocab: number, lengths: number[], seed = 1): CaptureSequence[] {
  return lengths.map((n, s) => {
    const tokens = Array.from({ length: n }, (_, i) => (i === 0 ? 1 : ((i * 31 + s * 17 + seed * 7) % (vocab - 3)) + 3));
    return s === 1 ? { tokens, targets: tokens.map((_, j) => (j >= n / 2 ? 1 : 0)) } : { tokens };
  });
}

async function checkAgainstAutograd(ckpt: Checkpoint, labels: LabelMode, what: string) {
  const model = new TfModel(ckpt);
  try {
    const seqs = sequences(ckpt.config.vocabSize, [13, 20, 7]);
    const result = await captureBatch(model, seqs, { labels, seed: 5 });
    assert.deepEqual(result.tokenCounts, [13, 20, 7], 'padding rows must not appear in the captures');
    const reference = autogradWeightGradients(model, seqs, result.labels);
    let worst = 0;
    for (const m of model.tracked) {
      worst = Math.max(worst, assertRelClose(gradientFromCaptures(result, m.name), reference.get(m.name)!, 1e-5, `${what} ${m.name}`));
    }
    console.log(`# ${what}: worst relative error of Σ g aᵀ vs autograd ${worst.toExponential(2)} over ${model.tracked.length} modules`);
  } finally {
    model.dispose();
  }
}

test('llama: Σ_t g_t a_tᵀ equals autograd dW for gate, up and down of every layer', async () => {
  await checkAgainstAutograd(randomCheckpoint(tinyLlamaConfig(), 3), 'actual', 'tiny llama (actual labels)');
  await checkAgainstAutograd(randomCheckpoint(tinyLlamaConfig(), 3), 'sampled', 'tiny llama (sampled labels)');
});

test('gpt2: Σ_t g_t a_tᵀ equals autograd dW and db for c_fc and c_proj of every layer', async () => {
  await checkAgainstAutograd(randomCheckpoint(tinyGpt2Config({ vocabSize: 300 }), 4), 'actual', 'tiny gpt2');
});

test('stories260K: Σ_t g_t a_tᵀ equals autograd dW', { skip: SKIP_NO_SHARED }, async () => {
  await checkAgainstAutograd(loadCheckpoint(STORIES260K()), 'actual', 'stories260K');
});

test('losses are the summed masked cross-entropies of the reference forward pass', async () => {
  const ckpt = randomCheckpoint(tinyLlamaConfig(), 9);
  const model = new TfModel(ckpt);
  try {
    const seqs = sequences(ckpt.config.vocabSize, [10, 16, 5]);
    const result = await captureBatch(model, seqs, { labels: 'actual', seed: 0 });
    seqs.forEach((s, b) => {
      const perToken = referenceLoss(ckpt, s.tokens);
      const expected = perToken.reduce((sum, l, t) => sum + (s.targets && !s.targets[t + 1] ? 0 : l), 0);
      assertRelClose([result.losses[b]], [expected], 1e-5, `loss of sequence ${b}`);
    });
  } finally {
    model.dispose();
  }
});

test('sampled labels: same seed, same labels whatever the batch; another seed differs', async () => {
  const ckpt = randomCheckpoint(tinyLlamaConfig(), 11);
  const model = new TfModel(ckpt);
  try {
    const seqs = sequences(ckpt.config.vocabSize, [30, 24, 18, 12]);
    const all = await captureBatch(model, seqs, { labels: 'sampled', seed: 42 });
    const again = await captureBatch(model, seqs, { labels: 'sampled', seed: 42 });
    const alone = await captureBatch(model, [seqs[2]], { labels: 'sampled', seed: 42 });
    const other = await captureBatch(model, seqs, { labels: 'sampled', seed: 43 });
    assert.deepEqual(again.labels, all.labels);
    assert.deepEqual(alone.labels[0], all.labels[2]);
    assert.notDeepEqual(other.labels, all.labels);
    const actual = await captureBatch(model, seqs, { labels: 'actual', seed: 42 });
    assert.notDeepEqual(all.labels, actual.labels, 'sampled labels should not simply be the next tokens');
    // The masked prompt of sequence 1 gets no labels in either mode.
    assert.ok(all.labels[1].slice(0, 11).every((l) => l === -1));
  } finally {
    model.dispose();
  }
});

async function streamAll(ckpt: Checkpoint, workers: number, batchSize: number, seqs: CaptureSequence[]) {
  const pool = await openComputePool(ckpt, { backend: 'wasm', workers });
  const losses: number[] = [];
  const grads = new Map<string, Float64Array>();
  try {
    await captureStream(pool, seqs, { batchSize, labels: 'sampled', seed: 3 }, (r) => {
      losses.push(...r.losses);
      for (const m of r.modules) {
        const g = gradientFromCaptures(r, m.name);
        const acc = grads.get(m.name) ?? new Float64Array(g.length);
        g.forEach((x, i) => (acc[i] += x));
        grads.set(m.name, acc);
      }
    });
  } finally {
    await pool.dispose();
  }
  return { losses, grads };
}

test('results are identical for 1 and 2 workers, and equal across batch sizes', async () => {
  const ckpt = randomCheckpoint(tinyLlamaConfig(), 21);
  const seqs = sequences(ckpt.config.vocabSize, [9, 33, 17, 25, 5, 40, 12, 28, 19], 2);
  const one = await streamAll(ckpt, 1, 3, seqs);
  const two = await streamAll(ckpt, 2, 3, seqs);
  assert.deepEqual(two.losses, one.losses, 'losses differ between 1 and 2 workers');
  for (const [name, g] of one.grads) assert.deepEqual(two.grads.get(name), g, `${name} differs between 1 and 2 workers`);
  // Another batch size pads differently; float32 sums may then round differently, nothing more.
  const other = await streamAll(ckpt, 2, 4, seqs);
  assertRelClose(other.losses, one.losses, 1e-5, 'losses across batch sizes');
  for (const [name, g] of one.grads) assertRelClose(other.grads.get(name)!, g, 1e-5, `${name} across batch sizes`);
});

test('captures allocate no tensors that outlive them', async () => {
  const model = new TfModel(randomCheckpoint(tinyLlamaConfig(), 1));
  try {
    const seqs = sequences(64, [12, 8]);
    await captureBatch(model, seqs, { labels: 'sampled', seed: 1 }); // first call caches shape constants
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) await captureBatch(model, seqs, { labels: i % 2 ? 'sampled' : 'actual', seed: i });
    assert.equal(tf.memory().numTensors, before);
  } finally {
    model.dispose();
  }
});
