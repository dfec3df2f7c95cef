/**
 * Memory stated before it is spent: weights counted from config.json alone against published parameter
 * counts and against every tensor a family's HF layout stores; factors and weights that do not fit are
 * refused with a sentence saying what needs what, before anything is read or allocated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { ConfigReader } from '../../server/src/engine/model/arch/configReader';
import { familyForModelType } from '../../server/src/engine/model/arch/registry';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import { activationWarning, checkFactorMemory, checkMemory, factorBytes, weightBytes } from '../../server/src/engine/model/memory';
import type { ModelConfig } from '../../server/src/engine/model/types';
import { FAMILY_CONFIGS, hfTensorShapes, randomHfTensors, writeHfCheckpoint } from '../helpers/hfCheckpoint';

const configOf = (json: Record<string, unknown>): ModelConfig =>
  familyForModelType(json.model_type, 'config.json').configFrom(new ConfigReader('config.json', json));

const PYTHIA_160M = {
  model_type: 'gpt_neox',
  vocab_size: 50304,
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  max_position_embeddings: 2048,
  rotary_pct: 0.25,
};
const LLAMA_3_8B = {
  model_type: 'llama',
  vocab_size: 128256,
  hidden_size: 4096,
  intermediate_size: 14336,
  num_hidden_layers: 32,
  num_attention_heads: 32,
  num_key_value_heads: 8,
  max_position_embeddings: 8192,
  rope_theta: 500000,
};

test('weights from config.json alone: the published parameter counts, and every tensor of each HF layout', () => {
  // Pythia-160m: 162,322,944 parameters; Llama 3 8B: 8,030,261,248 (both untied).
  assert.equal(weightBytes(configOf(PYTHIA_160M)).host, 4 * 162_322_944);
  assert.equal(weightBytes(configOf(LLAMA_3_8B)).host, 4 * 8_030_261_248);
  for (const [name, json] of Object.entries(FAMILY_CONFIGS)) {
    const c = configOf(json);
    let n = 0;
    for (const shape of hfTensorShapes(json).values()) n += shape.reduce((a, b) => a * b, 1);
    const tiedHead = hfTensorShapes(json).has('lm_head.weight') || hfTensorShapes(json).has('embed_out.weight') ? 0 : c.vocabSize * c.dim;
    assert.equal(weightBytes(c).host, 4 * (n + tiedHead), name);
  }
});

test('factors: float64 covariances and eigenvectors of A (bias column included) and G, and the eigenvalue correction', () => {
  assert.equal(factorBytes([{ name: 'm', inDim: 3, outDim: 2, bias: 'b' }]), 8 * 2 * (16 + 4) + 8 * 4 * 2);
  const llama = configOf(LLAMA_3_8B);
  const refused = (fn: () => void, ...fragments: string[]) =>
    assert.throws(
      fn,
      (e: unknown) => e instanceof InfluenceLensError && e.code === 'OUT_OF_MEMORY' && fragments.every((f) => e.message.includes(f)),
      fragments.join(' '),
    );
  // Every MLP linear of Llama 3 8B: about 390 GB of factors.
  refused(
    () => checkFactorMemory(llama, undefined, 'llama3-8b', 22e9),
    'llama3-8b: the model needs 386.5 GB (EK-FAC factors of 96 MLP linears 386.5 GB), 22.0 GB available; track fewer with --modules',
  );
  checkFactorMemory(llama, ['layers.31.mlp.down'], 'llama3-8b', 22e9);
  refused(
    () => checkMemory({ weights: 3e9, activations: 5e8 }, 2e9, { remedy: 'use a GPU' }),
    'the model needs 3.5 GB (weights 3.0 GB, activations 0.50 GB), 2.0 GB available; use a GPU',
  );
});

test('a config whose weights cannot fit is refused naming config.json before a tensor is read', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-mem-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const json = FAMILY_CONFIGS.qwen2;
  writeHfCheckpoint(dir, { ...json, hidden_size: 4_000_000, num_attention_heads: 4, num_key_value_heads: 2 }, randomHfTensors(json, 1));
  assert.throws(
    () => loadCheckpoint(dir),
    (e: unknown) =>
      e instanceof InfluenceLensError &&
      e.code === 'OUT_OF_MEMORY' &&
      e.file === join(dir, 'config.json') &&
      /needs \d+\.\d GB \(weights as float32/.test(e.message),
  );
});

test('activations of full-length batches are stated when they may not fit, with what to change', () => {
  const pythia = configOf(PYTHIA_160M);
  // Logits alone: 2 threads × 8 × 512 tokens × 50304 × 4 bytes is 1.6 GB per copy, and tfjs keeps many.
  const warning = activationWarning(pythia, { threads: 2, batch: 8, length: 512 }, 21e9);
  assert.match(
    warning ?? '',
    /^warning: batches of 8 sequences of 512 tokens on 2 thread\(s\) may need up to \d+\.\d GB of activations, 21\.0 GB available; .*--batch-size.*--max-len/,
  );
  assert.equal(activationWarning(pythia, { threads: 1, batch: 1, length: 64 }, 21e9), undefined);
});
