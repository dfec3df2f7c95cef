/**
 * Training: weight gradients (with the tied, host-scattered embedding) against finite differences of the
 * float64 reference loss; identical results for 1 and 2 workers; and the loss really goes down.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../server/src/engine/device/backend';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import { TfModel } from '../../server/src/engine/model/tfModel';
import { initLlama } from '../../server/src/engine/train/init';
import { ParamSet, trainGradients } from '../../server/src/engine/train/gradients';
import { packRows, train, type TrainOptions } from '../../server/src/engine/train/train';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { tinyLlamaConfig } from '../helpers/randomCheckpoint';
import { referenceLoss } from '../helpers/referenceForward';

before(() => initBackend('wasm'));

const config = tinyLlamaConfig({ vocabSize: 40, dim: 16, hiddenDim: 24, nLayers: 2, nHeads: 4, nKvHeads: 2, maxSeqLen: 32 });
const rows = [
  [1, 5, 9, 13, 17, 21, 25, 29, 33, 2],
  [1, 7, 7, 8, 8, 9, 9, 10, 10, 2],
  [1, 30, 20, 10, 30, 20, 10, 30, 20, 2],
  [1, 3, 4, 5, 6, 7, 8, 9, 11, 2],
];

function referenceTotal(ckpt: Checkpoint): number {
  return rows.reduce((s, r) => s + referenceLoss(ckpt, r).reduce((a, b) => a + b, 0), 0);
}

test('weight gradients match finite differences of the float64 reference loss', async () => {
  const ckpt = initLlama(config, 1);
  // Larger weights than the init, so every part of the model matters to the loss.
  for (const t of ckpt.weights.values()) if (t.shape.length === 2) for (let i = 0; i < t.data.length; i++) t.data[i] *= 10;
  const model = new TfModel(ckpt);
  const params = new ParamSet(
    [...ckpt.weights].filter(([n]) => n !== 'lm_head').map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
    true,
  );
  try {
    const { grads, lossSum } = await trainGradients(model, params, rows);
    const total = referenceTotal(ckpt);
    assert.ok(Math.abs(lossSum - total) / total < 1e-5, `loss ${lossSum} vs reference ${total}`);
    const byName = new Map(grads.map((g) => [g.name, g.data]));
    const probes: [string, number][] = [
      ['embed', 5 * 16 + 3], // a row used as input and (tied) as output
      ['embed', 39 * 16 + 1], // a token that never occurs: output path only
      ['layers.0.wq', 17],
      ['layers.1.wk', 5],
      ['layers.0.w1', 40],
      ['layers.1.w2', 77],
      ['layers.0.attn_norm', 2],
      ['final_norm', 9],
    ];
    for (const [name, i] of probes) {
      const data = ckpt.weights.get(name)!.data;
      const orig = data[i];
      const h = 1e-3 * Math.max(1, Math.abs(orig));
      data[i] = orig + h;
      const up = referenceTotal(ckpt);
      data[i] = orig - h;
      const down = referenceTotal(ckpt);
      data[i] = orig;
      const fd = (up - down) / (Math.fround(orig + h) - Math.fround(orig - h));
      const g = byName.get(name)![i];
      assert.ok(Math.abs(g - fd) <= 2e-3 * Math.max(1, Math.abs(fd)), `${name}[${i}]: gradient ${g} vs finite difference ${fd}`);
    }
  } finally {
    params.dispose();
    model.dispose();
  }
});

async function run(workers: number, steps: number, lr = 1e-2) {
  const init = initLlama(config, 2);
  const pool = await openComputePool(init, { backend: 'wasm', workers });
  try {
    const o: TrainOptions = {
      pool,
      init,
      train: packRows(rows, 8),
      heldOut: packRows(rows, 8).slice(0, 2),
      steps,
      rowsPerStep: 4,
      rowsPerMicroBatch: 2,
      lr,
      warmupSteps: 2,
      minLrFraction: 0.1,
      clipNorm: 1,
      seed: 0,
      evalEvery: steps,
    };
    return await train(o);
  } finally {
    await pool.dispose();
  }
}

test('training is identical with 1 and 2 workers', async () => {
  const a = await run(1, 3);
  const b = await run(2, 3);
  for (const [name, t] of a.checkpoint.weights) assert.deepEqual(b.checkpoint.weights.get(name)!.data, t.data, name);
  assert.deepEqual(
    b.history.map((h) => h.loss),
    a.history.map((h) => h.loss),
  );
});

test('training memorises a few sequences (the loss falls by more than half)', async () => {
  const r = await run(2, 60, 2e-2);
  const first = r.history[0].loss;
  const last = r.history[r.history.length - 1].loss;
  console.log(`# training loss ${first.toFixed(3)} → ${last.toFixed(3)}, held-out ${r.history[r.history.length - 1].heldOutLoss?.toFixed(3)}`);
  assert.ok(last < first / 2, `loss ${first} → ${last}`);
});
