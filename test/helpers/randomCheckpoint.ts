/**
 * Seeded random checkpoints in the canonical layout (server/src/engine/model/types.ts), small
 * enough for unit tests. Scales keep activations O(1) and logits well-conditioned: norm gains
 * near 1, biases small, linear weights ~ N(0, (0.5·scale)²/fan_in).
 * Also the weight comparison the loader tests share.
 */
import assert from 'node:assert/strict';
import type { Checkpoint, HostTensor, ModelConfig, Weights } from '../../server/src/engine/model/types';

export function tinyGpt2Config(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: 'gpt2',
    vocabSize: 50257, // the real GPT-2 tokenizer's vocabulary
    dim: 32,
    hiddenDim: 128,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 4,
    maxSeqLen: 64,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'gelu_new',
    bosId: 50256,
    eosId: 50256,
    ...overrides,
  };
}

export function tinyLlamaConfig(overrides: Partial<ModelConfig> = {}): ModelConfig {
  return {
    architecture: 'llama',
    vocabSize: 64,
    dim: 32,
    hiddenDim: 48,
    nLayers: 2,
    nHeads: 4,
    nKvHeads: 2,
    maxSeqLen: 64,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'silu',
    bosId: 1,
    eosId: 2,
    ...overrides,
  };
}

/** mulberry32 uniform [0, 1) with Box-Muller normals: tiny, fast, reproducible everywhere. */
export function normalSampler(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
}

export interface RandomCheckpointOptions {
  /** lm_head shares embed's data (default true, as llama2.c's stories models and GPT-2). */
  tied?: boolean;
}

export function randomCheckpoint(config: ModelConfig, seed: number, scale = 1, opts: RandomCheckpointOptions = {}): Checkpoint {
  const randn = normalSampler(seed);
  const weights: Weights = new Map();
  const fill = (name: string, shape: number[], mean: number, std: number): HostTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = mean + std * randn();
    const t = { shape, data };
    weights.set(name, t);
    return t;
  };
  const linear = (name: string, out: number, inp: number) => fill(name, [out, inp], 0, (0.5 * scale) / Math.sqrt(inp));
  const norm = (name: string) => fill(name, [config.dim], 1, 0.05 * scale);
  const bias = (name: string, n: number) => fill(name, [n], 0, 0.02 * scale);

  const { dim, hiddenDim: hidden, vocabSize: vocab } = config;
  const embed = fill('embed', [vocab, dim], 0, 0.1 * scale);
  if (config.architecture === 'llama') {
    const hd = dim / config.nHeads;
    for (let i = 0; i < config.nLayers; i++) {
      const L = `layers.${i}`;
      norm(`${L}.attn_norm`);
      linear(`${L}.wq`, config.nHeads * hd, dim);
      linear(`${L}.wk`, config.nKvHeads * hd, dim);
      linear(`${L}.wv`, config.nKvHeads * hd, dim);
      linear(`${L}.wo`, dim, config.nHeads * hd);
      norm(`${L}.mlp_norm`);
      linear(`${L}.w1`, hidden, dim);
      linear(`${L}.w3`, hidden, dim);
      linear(`${L}.w2`, dim, hidden);
    }
    norm('final_norm');
  } else {
    fill('pos_embed', [config.maxSeqLen, dim], 0, 0.05 * scale);
    for (let i = 0; i < config.nLayers; i++) {
      const L = `layers.${i}`;
      norm(`${L}.ln1.weight`);
      bias(`${L}.ln1.bias`, dim);
      linear(`${L}.qkv.weight`, 3 * dim, dim);
      bias(`${L}.qkv.bias`, 3 * dim);
      linear(`${L}.proj.weight`, dim, dim);
      bias(`${L}.proj.bias`, dim);
      norm(`${L}.ln2.weight`);
      bias(`${L}.ln2.bias`, dim);
      linear(`${L}.fc.weight`, hidden, dim);
      bias(`${L}.fc.bias`, hidden);
      linear(`${L}.fc_proj.weight`, dim, hidden);
      bias(`${L}.fc_proj.bias`, dim);
    }
    norm('final_norm.weight');
    bias('final_norm.bias', dim);
  }
  if (opts.tied ?? true) weights.set('lm_head', { shape: [vocab, dim], data: embed.data });
  else fill('lm_head', [vocab, dim], 0, 0.1 * scale);

  return {
    config: { ...config },
    weights,
    // types.ts has no in-memory kind; name the format the architecture usually comes in.
    source: { kind: config.architecture === 'llama' ? 'llama2c' : 'huggingface', path: `random:seed=${seed}`, files: [] },
  };
}

/**
 * Asserts both weight maps hold the same names, shapes and values, each value within
 * tol(expected) (default exact; NaN matches NaN). Reports the first offending element.
 */
export function assertWeightsClose(actual: Weights, expected: Weights, tol: (x: number) => number = () => 0): void {
  const names = (w: Weights) => [...w.keys()].sort();
  assert.deepEqual(names(actual), names(expected), 'tensor names differ');
  for (const [name, e] of expected) {
    const a = actual.get(name) as HostTensor;
    assert.deepEqual(a.shape, e.shape, `shape of ${name}`);
    assert.equal(a.data.length, e.data.length, `length of ${name}`);
    for (let i = 0; i < e.data.length; i++) {
      const x = e.data[i];
      const y = a.data[i];
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      if (!(x === y || Math.abs(x - y) <= tol(x))) assert.fail(`${name}[${i}]: got ${y}, expected ${x} (tolerance ${tol(x)})`);
    }
  }
}
