import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Checkpoint, HostTensor, ModelConfig, Weights } from '../../server/src/engine/model/types';
import { applyRope, erf, geluErf, geluNew, logSumExp, referenceLogits, referenceLoss, softmax } from '../helpers/referenceForward';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

// ---------------------------------------------------------------------------------------------
// Tiny hand-built checkpoints
// ---------------------------------------------------------------------------------------------

/** Every canonical weight name of an architecture with its shape. */
function shapes(c: ModelConfig): Map<string, number[]> {
  const hd = c.dim / c.nHeads;
  const m = new Map<string, number[]>();
  m.set('embed', [c.vocabSize, c.dim]);
  m.set('lm_head', [c.vocabSize, c.dim]);
  if (c.architecture === 'llama') {
    m.set('final_norm', [c.dim]);
    for (let i = 0; i < c.nLayers; i++) {
      const p = `layers.${i}.`;
      m.set(p + 'attn_norm', [c.dim]);
      m.set(p + 'wq', [c.nHeads * hd, c.dim]);
      m.set(p + 'wk', [c.nKvHeads * hd, c.dim]);
      m.set(p + 'wv', [c.nKvHeads * hd, c.dim]);
      m.set(p + 'wo', [c.dim, c.nHeads * hd]);
      m.set(p + 'mlp_norm', [c.dim]);
      m.set(p + 'w1', [c.hiddenDim, c.dim]);
      m.set(p + 'w3', [c.hiddenDim, c.dim]);
      m.set(p + 'w2', [c.dim, c.hiddenDim]);
    }
  } else {
    m.set('pos_embed', [c.maxSeqLen, c.dim]);
    m.set('final_norm.weight', [c.dim]);
    m.set('final_norm.bias', [c.dim]);
    for (let i = 0; i < c.nLayers; i++) {
      const p = `layers.${i}.`;
      m.set(p + 'ln1.weight', [c.dim]);
      m.set(p + 'ln1.bias', [c.dim]);
      m.set(p + 'qkv.weight', [3 * c.dim, c.dim]);
      m.set(p + 'qkv.bias', [3 * c.dim]);
      m.set(p + 'proj.weight', [c.dim, c.dim]);
      m.set(p + 'proj.bias', [c.dim]);
      m.set(p + 'ln2.weight', [c.dim]);
      m.set(p + 'ln2.bias', [c.dim]);
      m.set(p + 'fc.weight', [c.hiddenDim, c.dim]);
      m.set(p + 'fc.bias', [c.hiddenDim]);
      m.set(p + 'fc_proj.weight', [c.dim, c.hiddenDim]);
      m.set(p + 'fc_proj.bias', [c.dim]);
    }
  }
  return m;
}

/** mulberry32: a small seeded PRNG, uniform in [-1, 1). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

type Fill = 'zero' | 'one' | 'random';

/**
 * A checkpoint whose tensors are given explicitly in `given` (flat row-major values), else filled
 * by `fill(name)`: norms' weights default to ones, everything else to zero (or random values).
 */
function makeCkpt(
  config: Partial<ModelConfig> & Pick<ModelConfig, 'architecture'>,
  given: Record<string, number[]> = {},
  fill: (name: string) => Fill = defaultFill('zero'),
  seed = 1,
): Checkpoint {
  const cfg: ModelConfig = {
    vocabSize: 3,
    dim: 2,
    hiddenDim: 1,
    nLayers: 1,
    nHeads: 1,
    nKvHeads: config.nHeads ?? 1,
    maxSeqLen: 16,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: config.architecture === 'llama' ? 'silu' : 'gelu_new',
    bosId: 1,
    eosId: 2,
    ...config,
  };
  const r = rng(seed);
  const weights: Weights = new Map();
  for (const [name, shape] of shapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (given[name]) {
      assert.equal(given[name].length, size, `${name} needs ${size} values`);
      data = Float32Array.from(given[name]);
    } else {
      const how = fill(name);
      data = new Float32Array(size);
      if (how === 'one') data.fill(1);
      else if (how === 'random') for (let i = 0; i < size; i++) data[i] = r() * 0.5;
    }
    weights.set(name, { shape, data });
  }
  for (const name of Object.keys(given)) assert.ok(weights.has(name), `unknown weight ${name}`);
  return { config: cfg, weights, source: { kind: 'llama2c', path: '<test>', files: [] } };
}

const isNormWeight = (name: string) => /(^|\.)(attn_norm|mlp_norm|final_norm)$/.test(name) || /(ln1|ln2|final_norm)\.weight$/.test(name);

function defaultFill(rest: Fill): (name: string) => Fill {
  return (name) => (isNormWeight(name) ? 'one' : rest);
}

function get(ckpt: Checkpoint, name: string): HostTensor {
  const t = ckpt.weights.get(name);
  assert.ok(t, name);
  return t;
}

/** lm_head · v, written out by hand for the tests. */
function headTimes(ckpt: Checkpoint, v: number[]): number[] {
  const h = get(ckpt, 'lm_head');
  const [rows, cols] = h.shape;
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += h.data[r * cols + c] * v[c];
    out.push(s);
  }
  return out;
}

function rms(v: number[], eps: number): number[] {
  const ms = v.reduce((a, b) => a + b * b, 0) / v.length;
  return v.map((x) => x / Math.sqrt(ms + eps));
}

function ln(v: number[], eps: number): number[] {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const variance = v.reduce((a, b) => a + (b - mean) * (b - mean), 0) / v.length;
  return v.map((x) => (x - mean) / Math.sqrt(variance + eps));
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-12, what = ''): void {
  assert.equal(actual.length, expected.length, `${what} length`);
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    assert.ok(d <= tol * Math.max(1, Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Numeric building blocks
// ---------------------------------------------------------------------------------------------

test('erf matches known values to 1e-15', () => {
  const known: [number, number][] = [
    [0, 0],
    [0.5, 0.5204998778130465],
    [1, 0.8427007929497149],
    [-2, -0.9953222650189527],
    [2.5, 0.999593047982555],
    [2.999, 0.9999777698314002],
    [3, 0.9999779095030014],
    [3.001, 0.9999780483390822],
    [4, 0.9999999845827421],
    [5, 0.9999999999984626],
    [0.01, 0.011283415555849616],
    [1e-8, 1.1283791670955126e-8],
  ];
  for (const [x, e] of known) {
    assert.ok(Math.abs(erf(x) - e) <= 2e-15 * Math.max(Math.abs(e), 1e-300), `erf(${x}) = ${erf(x)}, want ${e}`);
    assert.equal(erf(-x), -erf(x));
  }
  assert.equal(erf(10), 1);
  assert.equal(erf(-Infinity), -1);
});

test('gelu variants', () => {
  // Phi(1) = 0.8413447460685429.
  assert.ok(Math.abs(geluErf(1) - 0.8413447460685429) < 1e-15);
  assert.ok(Math.abs(geluErf(-1) - -0.15865525393145707) < 1e-15);
  const z = 1;
  const want = 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));
  assert.equal(geluNew(1), want);
  assert.ok(Math.abs(geluNew(1) - geluErf(1)) < 1e-3);
  assert.equal(geluNew(0), 0);
  assert.equal(geluErf(0), 0);
});

test('softmax sums to one and logSumExp is stable', () => {
  const v = [1000, 1001, 999, -1e9];
  const p = softmax(v);
  assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) - 1) < 1e-15);
  assert.ok(p.every(Number.isFinite));
  assert.ok(Math.abs(logSumExp(v) - (1001 + Math.log(1 + Math.exp(-1) + Math.exp(-2)))) < 1e-12);
  assert.ok(Math.abs(logSumExp([-1000, -1000]) - (-1000 + Math.LN2)) < 1e-12);
});

test('RoPE: identity at position 0, rotates consecutive pairs, depends only on relative position', () => {
  const v = Float64Array.from([0.3, -1.2, 2.5, 0.7, -0.4, 1.1, 0.9, -2.2]); // two heads of 4
  const at0 = v.slice();
  applyRope(at0, 4, 0, 10000);
  assert.deepEqual(at0, v);

  const at3 = v.slice();
  applyRope(at3, 4, 3, 10000);
  // Pair (0,1) of each head: freq 1; pair (2,3): freq 1/10000^(2/4) = 0.01.
  for (const base of [0, 4]) {
    for (const [i, freq] of [
      [0, 1],
      [2, 0.01],
    ] as const) {
      const a = 3 * freq;
      const [v0, v1] = [v[base + i], v[base + i + 1]];
      assertClose([at3[base + i], at3[base + i + 1]], [v0 * Math.cos(a) - v1 * Math.sin(a), v0 * Math.sin(a) + v1 * Math.cos(a)]);
    }
  }

  const q = Float64Array.from([0.5, 1.5, -0.25, 2]);
  const k = Float64Array.from([1, -0.5, 0.75, 0.1]);
  const dotAt = (pq: number, pk: number) => {
    const a = q.slice();
    const b = k.slice();
    applyRope(a, 4, pq, 500);
    applyRope(b, 4, pk, 500);
    return a.reduce((s, x, i) => s + x * b[i], 0);
  };
  assert.ok(Math.abs(dotAt(7, 2) - dotAt(5, 0)) < 1e-12);
  assert.ok(Math.abs(dotAt(7, 2) - dotAt(2, 0)) > 1e-3);
});

// ---------------------------------------------------------------------------------------------
// llama
// ---------------------------------------------------------------------------------------------

test('llama with zeroed attention and MLP: logits = lm_head · rmsnorm(embed)', () => {
  const ckpt = makeCkpt(
    { architecture: 'llama', vocabSize: 4, dim: 4, nHeads: 2, hiddenDim: 3, nLayers: 2 },
    {
      embed: [1, 2, 3, 4, -1, 0, 0.5, 2, 0, 0, 0, 1, 3, -3, 1, 0],
      lm_head: [1, 0, 0, 0, 0, 1, 0, 0, 0.5, 0.5, -1, 2, 0.1, 0.2, 0.3, 0.4],
      final_norm: [1, 2, 0.5, -1],
    },
    () => 'random',
  );
  // Keep random attention/MLP inputs but zero the outputs that write into the residual stream.
  for (let l = 0; l < 2; l++) {
    get(ckpt, `layers.${l}.wo`).data.fill(0);
    get(ckpt, `layers.${l}.w2`).data.fill(0);
  }
  const tokens = [2, 0, 3, 1, 0];
  const logits = referenceLogits(ckpt, tokens);
  const embed = get(ckpt, 'embed').data;
  const fw = [1, 2, 0.5, -1];
  tokens.forEach((tok, t) => {
    const e = Array.from(embed.subarray(tok * 4, tok * 4 + 4));
    const want = headTimes(
      ckpt,
      rms(e, 1e-5).map((x, i) => x * fw[i]),
    );
    assertClose(logits[t], want, 1e-12, `pos ${t}`);
  });
});

test('llama 1 layer, dim 2, 1 head: attention computed by hand (RoPE, causal softmax)', () => {
  // wq = wk = wv = wo = I, MLP off, eps 0: xb_t = rmsnorm(e_t).
  const ckpt = makeCkpt(
    { architecture: 'llama', vocabSize: 3, dim: 2, nHeads: 1, hiddenDim: 1, normEps: 0, ropeTheta: 10000 },
    {
      embed: [1, 0, 0, 1, 3, 4],
      lm_head: [1, 0, 0, 1, 1, 1],
      'layers.0.wq': [1, 0, 0, 1],
      'layers.0.wk': [1, 0, 0, 1],
      'layers.0.wv': [1, 0, 0, 1],
      'layers.0.wo': [1, 0, 0, 1],
    },
  );
  const logits = referenceLogits(ckpt, [0, 1]);
  const r2 = Math.SQRT2;
  // Position 0: attends only to itself, att = v0 = [√2, 0]; x = [1 + √2, 0]; rmsnorm → [√2, 0].
  assertClose(logits[0], [r2, 0, r2], 1e-12, 'pos 0');
  // Position 1: headDim 2 so one pair with freq 1; q1 = R(1)[0, √2] = [-√2 sin 1, √2 cos 1],
  // k0 = [√2, 0] (R(0) = I), k1 = R(1)[0, √2]. Scores / √2: s0 = -√2 sin 1, s1 = √2.
  const s0 = (-2 * Math.sin(1)) / r2;
  const s1 = 2 / r2;
  const p0 = Math.exp(s0) / (Math.exp(s0) + Math.exp(s1));
  const p1 = 1 - p0;
  const x = [0 + p0 * r2, 1 + p1 * r2]; // e1 + p0 v0 + p1 v1, v0 = [√2, 0], v1 = [0, √2]
  const n = rms(x, 0);
  assertClose(logits[1], [n[0], n[1], n[0] + n[1]], 1e-12, 'pos 1');
});

test('llama 1 layer, dim 2: SwiGLU MLP computed by hand', () => {
  const ckpt = makeCkpt(
    { architecture: 'llama', vocabSize: 3, dim: 2, nHeads: 1, hiddenDim: 1, normEps: 0 },
    {
      embed: [1, 0, 0, 1, 3, 4],
      lm_head: [1, 0, 0, 1, 2, -1],
      'layers.0.w1': [1, 0],
      'layers.0.w3': [0.5, 7],
      'layers.0.w2': [1, 2],
      final_norm: [1, 3],
    },
  );
  const logits = referenceLogits(ckpt, [0]);
  // xb = [√2, 0]; gate = √2; up = √2/2; h = silu(√2) · √2/2; x = [1 + h, 2h].
  const g = Math.SQRT2;
  const h = (g / (1 + Math.exp(-g))) * (Math.SQRT2 / 2);
  const n = rms([1 + h, 2 * h], 0);
  const y = [n[0] * 1, n[1] * 3];
  assertClose(logits[0], [y[0], y[1], 2 * y[0] - y[1]], 1e-12);
});

const randomLlama = () =>
  makeCkpt({ architecture: 'llama', vocabSize: 11, dim: 16, nHeads: 4, nKvHeads: 2, hiddenDim: 12, nLayers: 2, ropeTheta: 100 }, {}, () => 'random', 7);

test('llama is causal: changing a later token leaves earlier logits unchanged', () => {
  const ckpt = randomLlama();
  const a = referenceLogits(ckpt, [1, 5, 3, 9, 2, 7]);
  const b = referenceLogits(ckpt, [1, 5, 3, 9, 4, 0]);
  for (let t = 0; t < 4; t++) assert.deepEqual(a[t], b[t]);
  assert.notDeepEqual(a[4], b[4]);
  // And an earlier change reaches later positions (attention actually mixes).
  const c = referenceLogits(ckpt, [1, 6, 3, 9, 2, 7]);
  assert.notDeepEqual(a[3], c[3]);
});

test('referenceLoss is -log softmax of the next token', () => {
  const ckpt = randomLlama();
  const tokens = [1, 5, 3, 9, 2, 7];
  const logits = referenceLogits(ckpt, tokens);
  const loss = referenceLoss(ckpt, tokens);
  assert.equal(loss.length, tokens.length - 1);
  for (let t = 0; t + 1 < tokens.length; t++) {
    const p = softmax(logits[t]);
    assert.ok(Math.abs(p.reduce((s, x) => s + x, 0) - 1) < 1e-14);
    assert.ok(Math.abs(loss[t] - -Math.log(p[tokens[t + 1]])) < 1e-12);
    assert.ok(loss[t] > 0);
  }
  assert.deepEqual(referenceLoss(ckpt, [4]), []);
});

test('rejects out-of-range tokens and wrong shapes', () => {
  const ckpt = randomLlama();
  assert.throws(() => referenceLogits(ckpt, [11]), /outside/);
  assert.throws(() => referenceLogits(ckpt, [-1]), /outside/);
  ckpt.weights.set('layers.1.wk', { shape: [16, 16], data: new Float32Array(256) });
  assert.throws(() => referenceLogits(ckpt, [1]), /shape/);
});

// ---------------------------------------------------------------------------------------------
// gpt2
// ---------------------------------------------------------------------------------------------

test('gpt2 with zero layer weights: logits = lm_head · layernorm(embed + pos)', () => {
  const ckpt = makeCkpt(
    { architecture: 'gpt2', vocabSize: 5, dim: 4, nHeads: 2, hiddenDim: 8, nLayers: 2, maxSeqLen: 6 },
    { 'final_norm.weight': [1, 2, -1, 0.5], 'final_norm.bias': [0.1, 0, -0.2, 0.3] },
    (name) => (name === 'embed' || name === 'pos_embed' || name === 'lm_head' ? 'random' : isNormWeight(name) ? 'one' : 'zero'),
  );
  const tokens = [3, 0, 4, 4, 1];
  const logits = referenceLogits(ckpt, tokens);
  const embed = get(ckpt, 'embed').data;
  const pos = get(ckpt, 'pos_embed').data;
  tokens.forEach((tok, t) => {
    const x = [0, 1, 2, 3].map((i) => embed[tok * 4 + i] + pos[t * 4 + i]);
    const fw = get(ckpt, 'final_norm.weight').data; // float32 values, as the model sees them
    const fb = get(ckpt, 'final_norm.bias').data;
    const n = ln(x, 1e-5).map((v, i) => v * fw[i] + fb[i]);
    assertClose(logits[t], headTimes(ckpt, n), 1e-12, `pos ${t}`);
  });
});

for (const activation of ['gelu_new', 'gelu'] as const) {
  test(`gpt2 biases and ${activation} MLP computed by hand`, () => {
    // qkv.weight = 0 so every score is equal, attention is uniform and returns the v-bias c at
    // every position; proj = I plus bias d; fc.weight = 0, fc.bias = z, fc_proj = ones column
    // plus bias e: x = embed + pos + c + d + act(z) + e. All values are exact in float32.
    const c = [0.25, -0.125, 0.5];
    const d = [0.0625, 0.25, -0.75];
    const z = 0.75;
    const e = [-0.5, 0.125, 0.375];
    const ckpt = makeCkpt(
      { architecture: 'gpt2', vocabSize: 3, dim: 3, nHeads: 1, hiddenDim: 1, nLayers: 1, maxSeqLen: 4, activation },
      {
        embed: [1, 0, 0, 0, 1, 0.5, 2, 3, -1],
        pos_embed: [0, 0, 0, 0.5, -0.5, 0.25, 1, 1, -2, 2, 0, 0],
        lm_head: [1, 0, 0, 0, 1, 0, 1, -1, 0.5],
        'layers.0.qkv.bias': [9, 9, 9, -3, -3, -3, ...c], // q, k biases: irrelevant, scores are equal
        'layers.0.proj.weight': [1, 0, 0, 0, 1, 0, 0, 0, 1],
        'layers.0.proj.bias': d,
        'layers.0.fc.bias': [z],
        'layers.0.fc_proj.weight': [1, 1, 1],
        'layers.0.fc_proj.bias': e,
        'final_norm.weight': [2, 1, -0.5],
        'final_norm.bias': [0, 1, 0.25],
      },
    );
    const act = activation === 'gelu' ? 0.5 * z * (1 + erf(z / Math.SQRT2)) : 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z ** 3)));
    const tokens = [2, 0, 1];
    const logits = referenceLogits(ckpt, tokens);
    const embed = get(ckpt, 'embed').data;
    const pos = get(ckpt, 'pos_embed').data;
    tokens.forEach((tok, t) => {
      const x = [0, 1, 2].map((i) => embed[tok * 3 + i] + pos[t * 3 + i] + c[i] + d[i] + act + e[i]);
      const n = ln(x, 1e-5);
      const y = [n[0] * 2 + 0, n[1] * 1 + 1, n[2] * -0.5 + 0.25];
      assertClose(logits[t], [y[0], y[1], y[0] - y[1] + 0.5 * y[2]], 1e-12, `pos ${t}`);
    });
  });
}

const randomGpt2 = (vocabSize = 13, dim = 8, activation: 'gelu' | 'gelu_new' = 'gelu_new') =>
  makeCkpt({ architecture: 'gpt2', vocabSize, dim, nHeads: 2, hiddenDim: 4 * dim, nLayers: 2, maxSeqLen: 32, activation }, {}, () => 'random', 11);

test('gpt2 is causal and the two activations differ', () => {
  const ckpt = randomGpt2();
  const a = referenceLogits(ckpt, [0, 12, 3, 3, 8]);
  const b = referenceLogits(ckpt, [0, 12, 3, 5, 1]);
  for (let t = 0; t < 3; t++) assert.deepEqual(a[t], b[t]);
  assert.notDeepEqual(a[3], b[3]);
  const g = referenceLogits(randomGpt2(13, 8, 'gelu'), [0, 12, 3, 3, 8]);
  assert.notDeepEqual(a[0], g[0]);
  for (let t = 0; t < 5; t++) assertClose(g[t], a[t], 0.05, 'gelu ≈ gelu_new');
});

// ---------------------------------------------------------------------------------------------
// Ground truth: the real stories260K reproduces llama2.c's greedy output
// ---------------------------------------------------------------------------------------------

/** llama2.c legacy (v0) checkpoint → canonical names (a minimal local reader for this test). */
function readLlama2c(path: string): Checkpoint {
  const buf = readFileSync(path);
  const header = new Int32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + 28));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = Array.from(header);
  const vocabSize = Math.abs(rawVocab);
  const floats = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length));
  const hd = dim / nHeads;
  const kvDim = nKvHeads * hd;
  let off = 0;
  const take = (n: number) => floats.slice(off, (off += n));
  const weights: Weights = new Map();
  const perLayer = (name: string, shape: number[]) => {
    const n = shape.reduce((a, b) => a * b, 1);
    for (let l = 0; l < nLayers; l++) weights.set(`layers.${l}.${name}`, { shape, data: take(n) });
  };
  const embed = { shape: [vocabSize, dim], data: take(vocabSize * dim) };
  weights.set('embed', embed);
  perLayer('attn_norm', [dim]);
  perLayer('wq', [dim, dim]);
  perLayer('wk', [kvDim, dim]);
  perLayer('wv', [kvDim, dim]);
  perLayer('wo', [dim, dim]);
  perLayer('mlp_norm', [dim]);
  perLayer('w1', [hiddenDim, dim]);
  perLayer('w2', [dim, hiddenDim]);
  perLayer('w3', [hiddenDim, dim]);
  weights.set('final_norm', { shape: [dim], data: take(dim) });
  off += seqLen * hd; // freq_cis_real and freq_cis_imag (seqLen × hd/2 each)
  weights.set('lm_head', rawVocab > 0 ? embed : { shape: [vocabSize, dim], data: take(vocabSize * dim) });
  assert.equal(off, floats.length, 'consumed the whole file');
  const config: ModelConfig = {
    architecture: 'llama',
    vocabSize,
    dim,
    hiddenDim,
    nLayers,
    nHeads,
    nKvHeads,
    maxSeqLen: seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'silu',
    bosId: 1,
    eosId: 2,
  };
  return { config, weights, source: { kind: 'llama2c', path, files: [path] } };
}

/** llama2.c tokenizer pieces (int32 max length, then per token: f32 score, i32 length, bytes). */
function readPieces(path: string): string[] {
  const buf = readFileSync(path);
  const pieces: string[] = [];
  let off = 4;
  while (off < buf.length) {
    const len = buf.readInt32LE(off + 4);
    pieces.push(buf.toString('latin1', off + 8, off + 8 + len));
    off += 8 + len;
  }
  return pieces;
}

test('stories260K: greedy decoding from BOS reproduces llama2.c run.c', { skip: SKIP_NO_SHARED }, () => {
  const ckpt = readLlama2c(STORIES260K());
  const pieces = readPieces(TOK512());
  assert.equal(pieces.length, 512);
  const tokens = [1];
  while (tokens.length < 40) {
    const logits = referenceLogits(ckpt, tokens);
    const last = logits[logits.length - 1];
    let best = 0;
    for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
    tokens.push(best);
  }
  let bytes = '';
  for (let i = 1; i < tokens.length; i++) {
    let piece = pieces[tokens[i]];
    if (tokens[i - 1] === 1 && piece.startsWith(' ')) piece = piece.slice(1);
    const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    bytes += m ? String.fromCharCode(parseInt(m[1], 16)) : piece;
  }
  const text = Buffer.from(bytes, 'latin1').toString('utf8');
  const expected = 'Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big, red ball.';
  assert.ok(text.length > 60, text);
  assert.ok(expected.startsWith(text), `got ${JSON.stringify(text)}`);

  // The per-token loss along its own greedy path is small and finite.
  const loss = referenceLoss(ckpt, tokens);
  assert.ok(loss.every((x) => Number.isFinite(x) && x >= 0));
});
