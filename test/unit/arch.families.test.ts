/**
 * Every architecture family of the registry, from a random checkpoint in the exact Hugging Face layout of
 * its model_type (test/helpers/hfCheckpoint.ts): it loads (f32 in one file; bf16 in two shards; f16), its
 * logits match the float64 reference read from the HF tensors as stored (referenceHf.ts) within 1e-4
 * relative, and the per-token captures Σ g aᵀ of every tracked MLP linear equal the autograd weight
 * gradient. Unknown model_types are refused with the list of supported ones.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { captureBatch } from '../../server/src/engine/capture/captureBatch';
import { generateGreedy, generateGreedyUncached } from '../../server/src/engine/inference/generate';
import type { CaptureSequence } from '../../server/src/engine/capture/types';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import { SUPPORTED_MODEL_TYPES } from '../../server/src/engine/model/huggingface';
import type { Family } from '../../server/src/engine/model/arch/family';
import { FAMILIES, family } from '../../server/src/engine/model/arch/registry';
import type { Architecture } from '../../server/src/engine/model/types';
import { TfModel } from '../../server/src/engine/model/tfModel';
import { tf } from '../../server/src/engine/tf';
import { autogradWeightGradients } from '../helpers/autograd';
import { assertRelClose } from '../helpers/compare';
import { FAMILY_CONFIGS, randomHfTensors, writeHfCheckpoint } from '../helpers/hfCheckpoint';
import { referenceHfLogits } from '../helpers/referenceHf';
import { gradientFromCaptures, tfLogits } from '../helpers/modelOutputs';

before(() => initBackend('wasm'));

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-arch-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const TOKENS = [1, 5, 17, 33, 2, 60, 8, 8, 41, 12, 63, 30, 7, 19, 3, 50, 22, 9, 44, 11];

const architectureOf: Record<string, string> = { 'llama3.x': 'llama' };

for (const [name, cfg] of Object.entries(FAMILY_CONFIGS)) {
  test(`${name}: loads from its HF layout (f32; bf16 in 2 shards; f16) and matches the float64 reference`, (t) => {
    const dir = tmp(t);
    const tensors = randomHfTensors(cfg, 11);
    for (const [dtype, shards] of [
      ['F32', 1],
      ['BF16', 2],
      ['F16', 1],
    ] as const) {
      const folder = join(dir, dtype);
      const stored = writeHfCheckpoint(folder, cfg, tensors, { dtype, shards });
      const ckpt = loadCheckpoint(folder);
      assert.equal(ckpt.config.architecture, architectureOf[name] ?? cfg.model_type);
      const ref = referenceHfLogits(cfg, stored, TOKENS);
      const V = ckpt.config.vocabSize;
      const flat = new Float64Array(ref.length * V);
      ref.forEach((r, i) => flat.set(r, i * V));
      const err = assertRelClose(tfLogits(ckpt, TOKENS), flat, 1e-4, `${name} ${dtype}`);
      t.diagnostic(`${name} ${dtype}${shards > 1 ? ` in ${shards} shards` : ''}: relative error ${err.toExponential(2)}`);
    }
  });

  test(`${name}: Σ_t g_t a_tᵀ of every tracked MLP linear equals autograd dW`, async (t) => {
    const folder = join(tmp(t), 'm');
    writeHfCheckpoint(folder, cfg, randomHfTensors(cfg, 12));
    const model = new TfModel(loadCheckpoint(folder));
    try {
      const seqs: CaptureSequence[] = [
        { tokens: TOKENS.slice(0, 13) },
        { tokens: TOKENS.slice(3, 20), targets: TOKENS.slice(3, 20).map((_, j) => (j >= 8 ? 1 : 0)) },
        { tokens: TOKENS.slice(5, 12) },
      ];
      const result = await captureBatch(model, seqs, { labels: 'actual', seed: 5 });
      const reference = autogradWeightGradients(model, seqs, result.labels);
      let worst = 0;
      for (const m of model.tracked)
        worst = Math.max(worst, assertRelClose(gradientFromCaptures(result, m.name), reference.get(m.name)!, 1e-5, `${name} ${m.name}`));
      // What the cluster planner counts per layer without loading a model is what the model tracks.
      assert.equal(model.tracked.length, model.config.nLayers * family(model.config.architecture).mlpLinears, `${name}: mlpLinears`);
      t.diagnostic(
        `${name}: ${model.tracked
          .map((m) => m.name.replace(/^layers\.\d+\.mlp\./, ''))
          .slice(0, model.tracked.length / model.config.nLayers)
          .join('/')} × ${model.config.nLayers} layers, worst relative error ${worst.toExponential(2)}`,
      );
    } finally {
      model.dispose();
    }
  });
}

test('the registry has one row per architecture, checked by the compiler', () => {
  // tsc fails this file if a row could go missing without an error (the registry's type is the check).
  const withoutGpt2: Partial<Record<Architecture, Family>> = { ...FAMILIES };
  delete withoutGpt2.gpt2;
  // @ts-expect-error a table without the gpt2 row is not a registry
  const registry: Record<Architecture, Family> = withoutGpt2;
  assert.equal(registry.gpt2, undefined);
  assert.deepEqual(Object.keys(FAMILIES).sort(), ['cohere', 'gpt2', 'gpt_neox', 'llama', 'mistral', 'olmo2', 'phi3', 'qwen2', 'qwen3']);
});

test('every supported model_type has a checkpoint above, and an unknown one is refused with the list', (t) => {
  const covered = new Set(Object.values(FAMILY_CONFIGS).map((c) => c.model_type as string));
  assert.deepEqual([...SUPPORTED_MODEL_TYPES].sort(), [...covered, 'gpt2'].sort());
  const folder = join(tmp(t), 'm');
  const cfg = FAMILY_CONFIGS.llama;
  writeHfCheckpoint(folder, cfg, randomHfTensors(cfg, 1));
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ ...cfg, model_type: 'mamba' }));
  assert.throws(
    () => loadCheckpoint(folder),
    (e: unknown) =>
      e instanceof InfluenceLensError && e.code === 'UNSUPPORTED' && e.message.includes('"mamba"') && SUPPORTED_MODEL_TYPES.every((x) => e.message.includes(x)),
  );
});

test('fields a family does not implement are refused by name; a sliding window cuts the context', (t) => {
  const dir = tmp(t);
  const refused = (name: string, edit: Record<string, unknown>, ...fragments: string[]) => {
    const folder = join(dir, `${name}-${Object.keys(edit).join('-')}`);
    const cfg = { ...FAMILY_CONFIGS[name], ...edit };
    writeHfCheckpoint(folder, cfg, randomHfTensors(FAMILY_CONFIGS[name], 2));
    assert.throws(
      () => loadCheckpoint(folder),
      (e: unknown) => e instanceof InfluenceLensError && e.file === join(folder, 'config.json') && fragments.every((f) => e.message.includes(f)),
      `${name} ${JSON.stringify(edit)}`,
    );
  };
  refused('llama', { rope_scaling: { rope_type: 'yarn', factor: 4 } }, '"yarn"');
  refused('phi3', { rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [1] } }, '"longrope"');
  refused('qwen2', { use_sliding_window: true }, 'use_sliding_window');
  refused('cohere', { use_qk_norm: true }, 'use_qk_norm');
  refused('olmo2', { attention_bias: true }, 'attention_bias');
  refused('gpt_neox', { hidden_act: 'relu' }, 'hidden_act', '"relu"');
  refused('gpt_neox', { rotary_pct: 1.5 }, 'rotary_pct');

  const folder = join(dir, 'mistral');
  writeHfCheckpoint(folder, FAMILY_CONFIGS.mistral, randomHfTensors(FAMILY_CONFIGS.mistral, 3));
  const model = new TfModel(loadCheckpoint(folder));
  try {
    assert.equal(model.config.maxSeqLen, FAMILY_CONFIGS.mistral.sliding_window);
    const ids = Array.from({ length: 25 }, (_, i) => i + 1);
    assert.throws(() => tf.tidy(() => model.forward(tf.tensor2d(ids, [1, 25], 'int32'))), /25 tokens exceeds the model's context of 24/);
  } finally {
    model.dispose();
  }
});

test('gpt_neox: the buffers older Pythia files also store (causal mask, masked_bias, rotary inv_freq) are ignored', (t) => {
  const folder = join(tmp(t), 'pythia');
  const cfg = FAMILY_CONFIGS.gpt_neox;
  const tensors = randomHfTensors(cfg, 13);
  for (let i = 0; i < (cfg.num_hidden_layers as number); i++) {
    const p = `gpt_neox.layers.${i}.attention.`;
    tensors.set(p + 'bias', { shape: [1, 1, 64, 64], data: new Float32Array(64 * 64).fill(1) });
    tensors.set(p + 'masked_bias', { shape: [], data: Float32Array.of(-1e9) });
    tensors.set(p + 'rotary_emb.inv_freq', { shape: [2], data: Float32Array.of(1, 0.01) });
  }
  const stored = writeHfCheckpoint(folder, cfg, tensors);
  const ckpt = loadCheckpoint(folder);
  const ref = referenceHfLogits(cfg, stored, TOKENS);
  const flat = new Float64Array(ref.length * ckpt.config.vocabSize);
  ref.forEach((r, i) => flat.set(r, i * ckpt.config.vocabSize));
  assertRelClose(tfLogits(ckpt, TOKENS), flat, 1e-4, 'pythia with buffers');
});

test('a 128k context costs nothing until it is used: the mask and RoPE tables follow the positions in use', (t) => {
  const folder = join(tmp(t), 'long');
  const cfg = { ...FAMILY_CONFIGS['llama3.x'], max_position_embeddings: 131072 };
  const stored = writeHfCheckpoint(folder, cfg, randomHfTensors(cfg, 14));
  const ckpt = loadCheckpoint(folder);
  assert.equal(ckpt.config.maxSeqLen, 131072);
  const before = tf.memory().numBytes;
  const model = new TfModel(ckpt);
  try {
    const logits = tf.tidy(() => model.forward(tf.tensor2d(TOKENS, [1, TOKENS.length], 'int32')).dataSync() as Float32Array);
    // A whole-context mask alone would be 131072² floats (64 GiB).
    assert.ok(tf.memory().numBytes - before < 8e6, `${tf.memory().numBytes - before} bytes held`);
    const ref = referenceHfLogits(cfg, stored, TOKENS);
    const flat = new Float64Array(ref.length * ckpt.config.vocabSize);
    ref.forEach((r, i) => flat.set(r, i * ckpt.config.vocabSize));
    assertRelClose(logits, flat, 1e-4, 'llama3.x with a 128k context');
  } finally {
    model.dispose();
  }
});

test('every family decodes the same tokens with the key/value cache as without it', async (t) => {
  for (const [name, cfg] of Object.entries(FAMILY_CONFIGS)) {
    const folder = join(tmp(t), name);
    writeHfCheckpoint(folder, cfg, randomHfTensors(cfg, 15));
    const model = new TfModel(loadCheckpoint(folder));
    try {
      const options = { maxNewTokens: 12, stopIds: [] };
      const cached = await generateGreedy(model, TOKENS.slice(0, 5), options);
      assert.deepEqual(cached, await generateGreedyUncached(model, TOKENS.slice(0, 5), options), name);
      assert.equal(cached.length, 12, name);
    } finally {
      model.dispose();
    }
  }
});
