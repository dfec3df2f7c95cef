/**
 * An independent float64 reference forward pass, in plain loops (no tfjs), for tests to check the
 * real forward passes against. Clarity over speed: every step is written out as the papers /
 * reference implementations describe it.
 *
 * - llama: llama2.c's run.c `forward` (RMSNorm, RoPE on consecutive pairs, grouped-query causal
 *   attention, SwiGLU MLP, final RMSNorm, lm_head).
 * - gpt2: Hugging Face GPT2LMHeadModel (learned positions, pre-LayerNorm blocks with biases,
 *   gelu_new or gelu MLP, final LayerNorm, lm_head).
 *
 * Weights are read from the canonical Map (see server/src/engine/model/types.ts); every linear
 * weight is [out, in]. Float32 elements become float64 numbers as they are read, and all
 * arithmetic is float64.
 */
import type { Checkpoint, HostTensor, ModelConfig } from '../../server/src/engine/model/types';

type Vec = Float64Array;

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/** Logits (length vocabSize) for every position of `tokens`. */
export function referenceLogits(ckpt: Checkpoint, tokens: number[]): Float64Array[] {
  const cfg = ckpt.config;
  if (tokens.length === 0) return [];
  if (tokens.length > cfg.maxSeqLen) {
    throw new Error(`referenceLogits: ${tokens.length} tokens exceed maxSeqLen ${cfg.maxSeqLen}`);
  }
  for (const t of tokens) {
    if (!Number.isInteger(t) || t < 0 || t >= cfg.vocabSize) {
      throw new Error(`referenceLogits: token ${t} outside [0, ${cfg.vocabSize})`);
    }
  }
  switch (cfg.architecture) {
    case 'llama':
      return llamaLogits(ckpt, tokens);
    case 'gpt2':
      return gpt2Logits(ckpt, tokens);
    default:
      // The other families are checked on their Hugging Face tensors as stored (referenceHf.ts).
      throw new Error(`referenceLogits: ${cfg.architecture} is checked by referenceHfLogits`);
  }
}

/**
 * Per position t < T-1: the cross-entropy (natural log) of tokens[t+1] given the logits at t,
 * i.e. logsumexp(logits_t) - logits_t[tokens[t+1]].
 */
export function referenceLoss(ckpt: Checkpoint, tokens: number[]): number[] {
  const logits = referenceLogits(ckpt, tokens);
  const out: number[] = [];
  for (let t = 0; t + 1 < tokens.length; t++) {
    out.push(logSumExp(logits[t]) - logits[t][tokens[t + 1]]);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Small numeric building blocks (exported so the unit tests can check them directly)
// ---------------------------------------------------------------------------------------------

/** log(sum(exp(v))), stable for large or very negative entries. */
export function logSumExp(v: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] > max) max = v[i];
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += Math.exp(v[i] - max);
  return max + Math.log(sum);
}

/** Softmax, stable (subtracts the max). */
export function softmax(v: ArrayLike<number>): Float64Array {
  let max = -Infinity;
  for (let i = 0; i < v.length; i++) if (v[i] > max) max = v[i];
  const out = new Float64Array(v.length);
  let sum = 0;
  for (let i = 0; i < v.length; i++) sum += out[i] = Math.exp(v[i] - max);
  for (let i = 0; i < v.length; i++) out[i] /= sum;
  return out;
}

/** x * w / sqrt(mean(x^2) + eps), as llama2.c's rmsnorm. */
export function rmsnorm(x: Vec, w: HostTensor, eps: number): Vec {
  let ss = 0;
  for (let i = 0; i < x.length; i++) ss += x[i] * x[i];
  const scale = 1 / Math.sqrt(ss / x.length + eps);
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] * scale * w.data[i];
  return out;
}

/** (x - mean) / sqrt(var + eps) * w + b, with the biased variance (as torch.nn.LayerNorm). */
export function layernorm(x: Vec, w: HostTensor, b: HostTensor, eps: number): Vec {
  const n = x.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[i];
  mean /= n;
  let variance = 0;
  for (let i = 0; i < n; i++) variance += (x[i] - mean) * (x[i] - mean);
  variance /= n;
  const scale = 1 / Math.sqrt(variance + eps);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = (x[i] - mean) * scale * w.data[i] + b.data[i];
  return out;
}

/**
 * RoPE in place, llama2.c style: within each head of `headDim`, consecutive pairs (i, i+1) are
 * rotated by angle pos / theta^(i/headDim). `vec` holds whole heads back to back.
 */
export function applyRope(vec: Vec, headDim: number, pos: number, theta: number): void {
  if (vec.length % headDim !== 0 || headDim % 2 !== 0) {
    throw new Error(`applyRope: length ${vec.length} / headDim ${headDim} mismatch`);
  }
  for (let base = 0; base < vec.length; base += headDim) {
    for (let i = 0; i < headDim; i += 2) {
      const freq = 1 / Math.pow(theta, i / headDim);
      const angle = pos * freq;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const v0 = vec[base + i];
      const v1 = vec[base + i + 1];
      vec[base + i] = v0 * c - v1 * s;
      vec[base + i + 1] = v0 * s + v1 * c;
    }
  }
}

export function silu(z: number): number {
  return z / (1 + Math.exp(-z));
}

/** GPT-2's gelu_new: 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3))). */
export function geluNew(z: number): number {
  return 0.5 * z * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (z + 0.044715 * z * z * z)));
}

/** Exact gelu: 0.5 z (1 + erf(z / sqrt 2)). */
export function geluErf(z: number): number {
  return 0.5 * z * (1 + erf(z / Math.SQRT2));
}

/**
 * erf to ~1e-15 (relative to erf's magnitude, which is at least ~|x| near 0).
 * |x| < 3: the everywhere-positive Maclaurin-type series
 *   erf(x) = (2/sqrt(pi)) e^{-x^2} sum_{n>=0} 2^n x^{2n+1} / (1*3*...*(2n+1)),
 * whose terms never cancel. |x| >= 3: erfc by its continued fraction
 *   erfc(x) = e^{-x^2}/sqrt(pi) * 1/(x + (1/2)/(x + (2/2)/(x + (3/2)/(x + ...)))),
 * evaluated from the bottom up (erfc(3) ~ 2e-5, so 1 - erfc loses nothing that matters).
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x === 0) return x; // keeps the sign of -0
  if (x < 0) return -erf(-x);
  if (x < 3) {
    const x2 = x * x;
    let term = x; // n = 0
    let sum = x;
    for (let n = 1; n < 500; n++) {
      term *= (2 * x2) / (2 * n + 1);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
  }
  if (x > 6) return 1; // erfc(6) ~ 2e-17, below float64 resolution at 1
  let f = x;
  for (let n = 120; n >= 1; n--) f = x + n / 2 / f;
  const erfc = Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
  return 1 - erfc;
}

// ---------------------------------------------------------------------------------------------
// Weight access and linear algebra
// ---------------------------------------------------------------------------------------------

/** The named tensor, checked to have exactly `shape`. */
function weight(ckpt: Checkpoint, name: string, shape: number[]): HostTensor {
  const t = ckpt.weights.get(name);
  if (!t) throw new Error(`reference: missing weight ${name}`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`reference: ${name} has shape [${t.shape}], expected [${shape}]`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  if (t.data.length !== size) {
    throw new Error(`reference: ${name} has ${t.data.length} elements, expected ${size}`);
  }
  return t;
}

/** W·x for W [out, in] (row-major). */
function matvec(w: HostTensor, x: Vec): Vec {
  const [rows, cols] = w.shape;
  if (x.length !== cols) throw new Error(`matvec: input ${x.length}, weight [${w.shape}]`);
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    const off = r * cols;
    for (let c = 0; c < cols; c++) s += w.data[off + c] * x[c];
    out[r] = s;
  }
  return out;
}

/** W·x + b. */
function linear(w: HostTensor, b: HostTensor, x: Vec): Vec {
  const out = matvec(w, x);
  for (let i = 0; i < out.length; i++) out[i] += b.data[i];
  return out;
}

/** Row `i` of a [rows, cols] tensor, as float64. */
function row(t: HostTensor, i: number): Vec {
  const cols = t.shape[1];
  return Float64Array.from(t.data.subarray(i * cols, (i + 1) * cols));
}

function addInPlace(x: Vec, y: Vec): void {
  for (let i = 0; i < x.length; i++) x[i] += y[i];
}

/**
 * Causal multi-head attention for all positions.
 * q[t] holds nHeads heads of headDim; k[t], v[t] hold nKvHeads heads; head h reads kv head
 * floor(h / (nHeads / nKvHeads)). Returns, per position, the heads' outputs concatenated.
 */
function causalAttention(q: Vec[], k: Vec[], v: Vec[], nHeads: number, nKvHeads: number, headDim: number): Vec[] {
  const T = q.length;
  const group = nHeads / nKvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const out: Vec[] = [];
  for (let t = 0; t < T; t++) {
    const o = new Float64Array(nHeads * headDim);
    for (let h = 0; h < nHeads; h++) {
      const kvh = Math.floor(h / group);
      const qo = h * headDim;
      const ko = kvh * headDim;
      const scores = new Float64Array(t + 1);
      for (let s = 0; s <= t; s++) {
        let dot = 0;
        for (let i = 0; i < headDim; i++) dot += q[t][qo + i] * k[s][ko + i];
        scores[s] = dot * scale;
      }
      const p = softmax(scores);
      for (let s = 0; s <= t; s++) {
        for (let i = 0; i < headDim; i++) o[qo + i] += p[s] * v[s][ko + i];
      }
    }
    out.push(o);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// llama (llama2.c run.c forward)
// ---------------------------------------------------------------------------------------------

function llamaLogits(ckpt: Checkpoint, tokens: number[]): Vec[] {
  const cfg: ModelConfig = ckpt.config;
  const { dim, hiddenDim, nHeads, nKvHeads, vocabSize, normEps: eps, ropeTheta } = cfg;
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0) {
    throw new Error(`llama: dim ${dim}, nHeads ${nHeads}, nKvHeads ${nKvHeads} do not divide`);
  }
  const hd = dim / nHeads;
  const kvDim = nKvHeads * hd;
  const T = tokens.length;

  const embed = weight(ckpt, 'embed', [vocabSize, dim]);
  const x: Vec[] = tokens.map((tok) => row(embed, tok));

  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `layers.${l}.`;
    const attnNorm = weight(ckpt, p + 'attn_norm', [dim]);
    const wq = weight(ckpt, p + 'wq', [nHeads * hd, dim]);
    const wk = weight(ckpt, p + 'wk', [kvDim, dim]);
    const wv = weight(ckpt, p + 'wv', [kvDim, dim]);
    const wo = weight(ckpt, p + 'wo', [dim, nHeads * hd]);
    const mlpNorm = weight(ckpt, p + 'mlp_norm', [dim]);
    const w1 = weight(ckpt, p + 'w1', [hiddenDim, dim]);
    const w3 = weight(ckpt, p + 'w3', [hiddenDim, dim]);
    const w2 = weight(ckpt, p + 'w2', [dim, hiddenDim]);

    // Attention.
    const q: Vec[] = [];
    const k: Vec[] = [];
    const v: Vec[] = [];
    for (let t = 0; t < T; t++) {
      const xb = rmsnorm(x[t], attnNorm, eps);
      const qt = matvec(wq, xb);
      const kt = matvec(wk, xb);
      applyRope(qt, hd, t, ropeTheta);
      applyRope(kt, hd, t, ropeTheta);
      q.push(qt);
      k.push(kt);
      v.push(matvec(wv, xb));
    }
    const att = causalAttention(q, k, v, nHeads, nKvHeads, hd);
    for (let t = 0; t < T; t++) addInPlace(x[t], matvec(wo, att[t]));

    // SwiGLU MLP.
    for (let t = 0; t < T; t++) {
      const xb = rmsnorm(x[t], mlpNorm, eps);
      const gate = matvec(w1, xb);
      const up = matvec(w3, xb);
      const h = new Float64Array(hiddenDim);
      for (let i = 0; i < hiddenDim; i++) h[i] = silu(gate[i]) * up[i];
      addInPlace(x[t], matvec(w2, h));
    }
  }

  const finalNorm = weight(ckpt, 'final_norm', [dim]);
  const lmHead = weight(ckpt, 'lm_head', [vocabSize, dim]);
  return x.map((xt) => matvec(lmHead, rmsnorm(xt, finalNorm, eps)));
}

// ---------------------------------------------------------------------------------------------
// gpt2 (Hugging Face GPT2LMHeadModel)
// ---------------------------------------------------------------------------------------------

function gpt2Logits(ckpt: Checkpoint, tokens: number[]): Vec[] {
  const cfg: ModelConfig = ckpt.config;
  const { dim, hiddenDim, nHeads, vocabSize, normEps: eps } = cfg;
  if (dim % nHeads !== 0) throw new Error(`gpt2: dim ${dim} not divisible by nHeads ${nHeads}`);
  const hd = dim / nHeads;
  const T = tokens.length;
  let act: (z: number) => number;
  if (cfg.activation === 'gelu_new') act = geluNew;
  else if (cfg.activation === 'gelu') act = geluErf;
  else throw new Error(`gpt2: unsupported activation ${cfg.activation}`);

  const embed = weight(ckpt, 'embed', [vocabSize, dim]);
  const posEmbed = weight(ckpt, 'pos_embed', [cfg.maxSeqLen, dim]);
  const x: Vec[] = tokens.map((tok, pos) => {
    const e = row(embed, tok);
    addInPlace(e, row(posEmbed, pos));
    return e;
  });

  for (let l = 0; l < cfg.nLayers; l++) {
    const p = `layers.${l}.`;
    const ln1w = weight(ckpt, p + 'ln1.weight', [dim]);
    const ln1b = weight(ckpt, p + 'ln1.bias', [dim]);
    const qkvW = weight(ckpt, p + 'qkv.weight', [3 * dim, dim]);
    const qkvB = weight(ckpt, p + 'qkv.bias', [3 * dim]);
    const projW = weight(ckpt, p + 'proj.weight', [dim, dim]);
    const projB = weight(ckpt, p + 'proj.bias', [dim]);
    const ln2w = weight(ckpt, p + 'ln2.weight', [dim]);
    const ln2b = weight(ckpt, p + 'ln2.bias', [dim]);
    const fcW = weight(ckpt, p + 'fc.weight', [hiddenDim, dim]);
    const fcB = weight(ckpt, p + 'fc.bias', [hiddenDim]);
    const fcProjW = weight(ckpt, p + 'fc_proj.weight', [dim, hiddenDim]);
    const fcProjB = weight(ckpt, p + 'fc_proj.bias', [dim]);

    // Attention: qkv rows 0..dim are q, dim..2dim k, 2dim..3dim v.
    const q: Vec[] = [];
    const k: Vec[] = [];
    const v: Vec[] = [];
    for (let t = 0; t < T; t++) {
      const qkv = linear(qkvW, qkvB, layernorm(x[t], ln1w, ln1b, eps));
      q.push(qkv.slice(0, dim));
      k.push(qkv.slice(dim, 2 * dim));
      v.push(qkv.slice(2 * dim, 3 * dim));
    }
    const att = causalAttention(q, k, v, nHeads, nHeads, hd);
    for (let t = 0; t < T; t++) addInPlace(x[t], linear(projW, projB, att[t]));

    // MLP.
    for (let t = 0; t < T; t++) {
      const m = linear(fcW, fcB, layernorm(x[t], ln2w, ln2b, eps));
      for (let i = 0; i < hiddenDim; i++) m[i] = act(m[i]);
      addInPlace(x[t], linear(fcProjW, fcProjB, m));
    }
  }

  const fw = weight(ckpt, 'final_norm.weight', [dim]);
  const fb = weight(ckpt, 'final_norm.bias', [dim]);
  const lmHead = weight(ckpt, 'lm_head', [vocabSize, dim]);
  return x.map((xt) => matvec(lmHead, layernorm(xt, fw, fb, eps)));
}
