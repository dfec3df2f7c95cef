/**
 * The pre-norm RoPE decoder most families are variations of (Llama, Mistral, Qwen, Phi-3, OLMo 2, Cohere,
 * GPT-NeoX): one forward pass, its variations declared per family as a DecoderSpec, plus the slots of the
 * `model.layers.{i}.self_attn/mlp` layout those checkpoints share and the config.json fields they share.
 *
 * Canonical weights (every linear [out, in]; q/k rows in consecutive RoPE pairs, see layout.ts headRows):
 *   embed [vocab, dim]; lm_head [vocab, dim]; final_norm [dim] (+ final_norm.bias for LayerNorm with bias)
 *   layers.{i}.attn_norm, .mlp_norm [dim] (+ .bias); with block 'post' they follow attention and MLP
 *   layers.{i}.wq [H·hd, dim], .wk/.wv [Hkv·hd, dim], .wo [dim, H·hd]; biases .bq .bk .bv (.bo)
 *   layers.{i}.q_norm, .k_norm: [hd] per head (qkNorm 'head') or [H·hd] / [Hkv·hd] ('whole')
 *   gated MLP: layers.{i}.w1 (gate) [hidden, dim], .w3 (up) [hidden, dim], .w2 (down) [dim, hidden]
 *   plain MLP: layers.{i}.fc [hidden, dim], .fc_proj [dim, hidden] (+ .bias)
 */
import { tf, type Tensor, type Tensor2D } from '../../tf';
import type { ModelConfig } from '../types';
import type { ForwardHooks, TfModel, TrackedModule } from '../tfModel';
import { attention, geluErf, geluTanh, layerNorm, layerNormNoBias, linear, rmsNorm, ropeInverseFrequencies, ropeRotation, ropeTables, silu } from '../ops';
import type { KvCache } from '../kvCache';
import type { ConfigReader } from './configReader';
import { headRows, NONE, rowRange, rows, type Slot, type Transform } from './layout';

export interface DecoderSpec {
  norm: 'rms' | 'layer' | 'layerNoBias';
  /**
   * sequential: x += attn(n1(x)); x += mlp(n2(x)). parallel: x += attn(n1(x)) + mlp(n2(x)) (GPT-NeoX).
   * shared: x += attn(n) + mlp(n), n = n1(x) (Cohere). post: x += n1(attn(x)); x += n2(mlp(x)) (OLMo 2).
   */
  block: 'sequential' | 'parallel' | 'shared' | 'post';
  mlp: 'gated' | 'plain';
  attnBias: 'none' | 'qkv' | 'all';
  mlpBias: boolean;
  /** RMSNorm of q and k before RoPE: per head, or over the whole projection. */
  qkNorm: 'none' | 'head' | 'whole';
  /** Tracked module names after `layers.{i}.mlp.`: gate, up, down (gated) or in, out (plain). */
  modules: readonly string[];
}

export const DECODER_LINEARS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'fc', 'fc_proj', 'lm_head'];

export const headDim = (c: ModelConfig): number => c.headDim ?? c.dim / c.nHeads;
export const rotaryDim = (c: ModelConfig): number => c.rotaryDim ?? headDim(c);

export function decoderTrackedModules(c: ModelConfig, spec: DecoderSpec): TrackedModule[] {
  const out: TrackedModule[] = [];
  const bias = (w: string) => (spec.mlpBias ? { bias: w + '.bias' } : {});
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const name = (k: number) => `${p}mlp.${spec.modules[k]}`;
    if (spec.mlp === 'gated') {
      out.push({ name: name(0), weight: p + 'w1', ...bias(p + 'w1'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(1), weight: p + 'w3', ...bias(p + 'w3'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(2), weight: p + 'w2', ...bias(p + 'w2'), inDim: c.hiddenDim, outDim: c.dim });
    } else {
      out.push({ name: name(0), weight: p + 'fc', ...bias(p + 'fc'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(1), weight: p + 'fc_proj', ...bias(p + 'fc_proj'), inDim: c.hiddenDim, outDim: c.dim });
    }
  }
  return out;
}

/**
 * RoPE as x·C + rot(x)·S, with rot(x) = x·R pairing (x0, x1) → (−x1, x0): one small matmul instead of
 * split/concat, whose gradients are slow on wasm. Tables are cached on the model (the backward pass uses R
 * too) and sized to the positions in use, not the whole context.
 */
function rope(m: TfModel, L: number, offset: number) {
  const c = m.config;
  const hd = headDim(c);
  const n = m.span(offset + L);
  const tables = () => ropeTables(n, hd, ropeInverseFrequencies(rotaryDim(c), c.ropeTheta, c.ropeScaling));
  return {
    // Sliced per call: only the custom-gradient closures (R, RT) must outlive the forward pass.
    cos: tf.slice(m.constant(`rope.cos.${n}`, () => tf.tensor4d(tables().cos, [1, n, 1, hd])), [0, offset, 0, 0], [1, L, 1, hd]),
    sin: tf.slice(m.constant(`rope.sin.${n}`, () => tf.tensor4d(tables().sin, [1, n, 1, hd])), [0, offset, 0, 0], [1, L, 1, hd]),
    R: m.constant('rope.R', () => tf.tensor2d(ropeRotation(hd, false), [hd, hd])),
    RT: m.constant('rope.RT', () => tf.tensor2d(ropeRotation(hd, true), [hd, hd])),
  };
}

const ACTIVATION: Record<ModelConfig['activation'], (x: Tensor) => Tensor> = { silu, gelu: geluErf, gelu_new: geluTanh };

export function decoderForward(m: TfModel, ids: Tensor2D, hooks: ForwardHooks | undefined, cache: KvCache | undefined, spec: DecoderSpec): Tensor2D {
  const c = m.config;
  const [B, L] = ids.shape;
  const hd = headDim(c);
  const offset = cache?.length ?? 0;
  const r = rope(m, L, offset);
  const applyRope = (x: Tensor2D, heads: number) => {
    const x4 = tf.reshape(x, [B, L, heads, hd]);
    const rotated = tf.reshape(linear(tf.reshape(x, [B * L * heads, hd]) as Tensor2D, r.R, r.RT), [B, L, heads, hd]);
    return tf.add(tf.mul(x4, r.cos), tf.mul(rotated, r.sin));
  };
  const norm = (x: Tensor2D, w: string): Tensor2D => {
    if (spec.norm === 'rms') return rmsNorm(x, m.t(w), c.normEps);
    if (spec.norm === 'layer') return layerNorm(x, m.t(w), m.t(w + '.bias'), c.normEps);
    return layerNormNoBias(x, m.t(w), c.normEps);
  };
  const proj = (h: Tensor2D, w: string, b: string | false): Tensor2D => (b ? tf.add(m.linear(h, w), m.t(b)) : m.linear(h, w));
  const qkNorm = (x: Tensor2D, w: string, heads: number): Tensor2D => {
    if (spec.qkNorm === 'whole') return rmsNorm(x, m.t(w), c.normEps);
    if (spec.qkNorm === 'none') return x;
    return tf.reshape(rmsNorm(tf.reshape(x, [B * L * heads, hd]) as Tensor2D, m.t(w), c.normEps), [B * L, heads * hd]);
  };
  const act = ACTIVATION[c.activation];
  const per = spec.mlp === 'gated' ? 3 : 2;
  const qkvBias = spec.attnBias !== 'none';
  const mask = m.causalMask(L, c.nHeads / c.nKvHeads, offset);
  let x = m.embed('embed', ids);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const attn = (h: Tensor2D): Tensor2D => {
      const q = applyRope(qkNorm(proj(h, p + 'wq', qkvBias && p + 'bq'), p + 'q_norm', c.nHeads), c.nHeads);
      const kNew = applyRope(qkNorm(proj(h, p + 'wk', qkvBias && p + 'bk'), p + 'k_norm', c.nKvHeads), c.nKvHeads);
      const vNew = tf.reshape(proj(h, p + 'wv', qkvBias && p + 'bv'), [B, L, c.nKvHeads, hd]);
      const { k, v } = cache ? cache.extend(i, kNew, vNew) : { k: kNew, v: vNew };
      return proj(attention(q, k, v, c.nHeads, c.nKvHeads, mask), p + 'wo', spec.attnBias === 'all' && p + 'bo');
    };
    const mlp = (h: Tensor2D): Tensor2D => {
      const mods = m.allTracked.slice(per * i, per * i + per);
      if (spec.mlp === 'plain') return m.trackedLinear(mods[1], act(m.trackedLinear(mods[0], h, hooks)) as Tensor2D, hooks);
      const inner = tf.mul(act(m.trackedLinear(mods[0], h, hooks)), m.trackedLinear(mods[1], h, hooks)) as Tensor2D;
      return m.trackedLinear(mods[2], inner, hooks);
    };
    if (spec.block === 'sequential') {
      x = tf.add(x, attn(norm(x, p + 'attn_norm')));
      x = tf.add(x, mlp(norm(x, p + 'mlp_norm')));
    } else if (spec.block === 'parallel') {
      x = tf.addN([x, attn(norm(x, p + 'attn_norm')), mlp(norm(x, p + 'mlp_norm'))]);
    } else if (spec.block === 'shared') {
      const h = norm(x, p + 'attn_norm');
      x = tf.addN([x, attn(h), mlp(h)]);
    } else {
      x = tf.add(x, norm(attn(x), p + 'attn_norm'));
      x = tf.add(x, norm(mlp(x), p + 'mlp_norm'));
    }
  }
  const logits = m.linear(norm(x, 'final_norm'), 'lm_head');
  return c.logitScale === undefined ? logits : tf.mul(logits, c.logitScale);
}

// ---- the model.layers.{i} checkpoint layout ----------------------------------------------------

export interface LlamaLayout {
  /** q_proj, k_proj, v_proj biases (Qwen2). */
  qkvBias?: boolean;
  /** self_attn.q_norm / k_norm: per head (Qwen3) or over the whole projection (OLMo 2). */
  qkNorm?: 'head' | 'whole';
  /** Norms after attention and MLP: post_attention_layernorm, post_feedforward_layernorm (OLMo 2). */
  postNorms?: boolean;
  /** One input_layernorm feeding attention and MLP (Cohere). */
  sharedNorm?: boolean;
  /** qkv_proj and gate_up_proj fused, in that order (Phi-3). */
  fused?: boolean;
  /** Rotary already on consecutive pairs (Cohere), so q/k rows stay as stored. */
  interleaved?: boolean;
}

export function llamaStyleSlots(c: ModelConfig, tied: boolean, layout: LlamaLayout): Slot[] {
  const hd = headDim(c);
  const rot = layout.interleaved ? 0 : rotaryDim(c);
  const qDim = c.nHeads * hd;
  const kvDim = c.nKvHeads * hd;
  const I = c.hiddenDim;
  const ropeRows = (heads: number, first = 0): Transform => (rot === 0 && first === 0 ? NONE : rows(() => headRows(heads, hd, { first, rot })));
  const out: Slot[] = [
    { canonical: 'embed', hf: 'model.embed_tokens.weight', hfShape: [c.vocabSize, c.dim], transform: NONE },
    { canonical: 'final_norm', hf: 'model.norm.weight', hfShape: [c.dim], transform: NONE },
  ];
  if (!tied) out.push({ canonical: 'lm_head', hf: 'lm_head.weight', hfShape: [c.vocabSize, c.dim], transform: NONE });
  for (let i = 0; i < c.nLayers; i++) {
    const l = `model.layers.${i}`;
    const L = `layers.${i}`;
    const slot = (canonical: string, hf: string, hfShape: number[], transform: Transform = NONE) => out.push({ canonical: `${L}.${canonical}`, hf: `${l}.${hf}`, hfShape, transform });
    if (layout.postNorms) {
      slot('attn_norm', 'post_attention_layernorm.weight', [c.dim]);
      slot('mlp_norm', 'post_feedforward_layernorm.weight', [c.dim]);
    } else {
      slot('attn_norm', 'input_layernorm.weight', [c.dim]);
      if (!layout.sharedNorm) slot('mlp_norm', 'post_attention_layernorm.weight', [c.dim]);
    }
    if (layout.fused) {
      const shape = [qDim + 2 * kvDim, c.dim];
      slot('wq', 'self_attn.qkv_proj.weight', shape, rows(() => headRows(c.nHeads, hd, { rot })));
      slot('wk', 'self_attn.qkv_proj.weight', shape, rows(() => headRows(c.nKvHeads, hd, { first: qDim, rot })));
      slot('wv', 'self_attn.qkv_proj.weight', shape, rows(() => rowRange(qDim + kvDim, kvDim)));
    } else {
      slot('wq', 'self_attn.q_proj.weight', [qDim, c.dim], ropeRows(c.nHeads));
      slot('wk', 'self_attn.k_proj.weight', [kvDim, c.dim], ropeRows(c.nKvHeads));
      slot('wv', 'self_attn.v_proj.weight', [kvDim, c.dim]);
    }
    if (layout.qkvBias) {
      slot('bq', 'self_attn.q_proj.bias', [qDim], ropeRows(c.nHeads));
      slot('bk', 'self_attn.k_proj.bias', [kvDim], ropeRows(c.nKvHeads));
      slot('bv', 'self_attn.v_proj.bias', [kvDim]);
    }
    if (layout.qkNorm === 'head') {
      slot('q_norm', 'self_attn.q_norm.weight', [hd], ropeRows(1));
      slot('k_norm', 'self_attn.k_norm.weight', [hd], ropeRows(1));
    } else if (layout.qkNorm === 'whole') {
      slot('q_norm', 'self_attn.q_norm.weight', [qDim], ropeRows(c.nHeads));
      slot('k_norm', 'self_attn.k_norm.weight', [kvDim], ropeRows(c.nKvHeads));
    }
    slot('wo', 'self_attn.o_proj.weight', [c.dim, qDim]);
    if (layout.fused) {
      slot('w1', 'mlp.gate_up_proj.weight', [2 * I, c.dim], rows(() => rowRange(0, I)));
      slot('w3', 'mlp.gate_up_proj.weight', [2 * I, c.dim], rows(() => rowRange(I, I)));
    } else {
      slot('w1', 'mlp.gate_proj.weight', [I, c.dim]);
      slot('w3', 'mlp.up_proj.weight', [I, c.dim]);
    }
    slot('w2', 'mlp.down_proj.weight', [c.dim, I]);
  }
  return out;
}

export const LLAMA_STYLE_LAYERS = { key: 'num_hidden_layers', pattern: /^model\.layers\.(\d+)\./ };

// ---- config.json fields the llama-style families share -----------------------------------------

export interface LlamaLikeDefaults {
  /** head_dim when config.json has none (Qwen3's class says 128); hidden_size / heads otherwise. */
  headDim?: number;
  /** The norm's epsilon field and default. */
  eps?: [string, number];
  /** Qwen: sliding_window applies only with use_sliding_window (refused); others cut the context to it. */
  window?: 'cap' | 'qwen';
  bos?: number;
  eos?: number;
}

export function llamaLikeConfig(r: ConfigReader, architecture: ModelConfig['architecture'], d: LlamaLikeDefaults = {}): ModelConfig {
  const dim = r.int('hidden_size');
  const nHeads = r.int('num_attention_heads');
  const nKvHeads = r.int('num_key_value_heads', nHeads);
  const given = r.json.head_dim;
  const hd = given === undefined || given === null ? (d.headDim ?? dim / nHeads) : r.int('head_dim');
  r.refuseIf((r.json.hidden_act ?? 'silu') !== 'silu', `hidden_act ${JSON.stringify(r.json.hidden_act)} (only silu)`);
  r.refuseIf(r.bool('mlp_bias', false), 'mlp_bias: true');
  if (!Number.isInteger(hd) || hd % 2 !== 0 || nHeads % nKvHeads !== 0) {
    throw r.fail('MODEL_FORMAT', `hidden_size ${dim}, num_attention_heads ${nHeads}, num_key_value_heads ${nKvHeads} do not divide into even heads`);
  }
  if (d.window === 'qwen') r.refuseIf(r.bool('use_sliding_window', false), 'use_sliding_window: true');
  const [epsKey, epsDefault] = d.eps ?? ['rms_norm_eps', 1e-6];
  const config: ModelConfig = {
    architecture,
    vocabSize: r.int('vocab_size'),
    dim,
    hiddenDim: r.int('intermediate_size'),
    nLayers: r.int('num_hidden_layers'),
    nHeads,
    nKvHeads,
    maxSeqLen: d.window === 'qwen' ? r.positions('max_position_embeddings', 2048) : r.contextWithWindow('max_position_embeddings', 2048),
    normEps: r.num(epsKey, epsDefault),
    ropeTheta: r.num('rope_theta', 10000),
    activation: 'silu',
    bosId: r.tokenId('bos_token_id', d.bos ?? 1),
    eosId: r.tokenId('eos_token_id', d.eos ?? 2),
  };
  if (hd !== dim / nHeads) config.headDim = hd;
  const scaling = r.ropeScaling();
  if (scaling) config.ropeScaling = scaling;
  return config;
}

/** A fraction of each head rotated (partial_rotary_factor, rotary_pct), as transformers rounds it. */
export function partialRotary(r: ConfigReader, c: ModelConfig, key: string, fallback: number): void {
  const f = r.num(key, fallback);
  const hd = headDim(c);
  const rot = Math.floor(hd * f);
  if (f > 1 || rot % 2 !== 0 || rot === 0) throw r.fail('MODEL_FORMAT', `"${key}" ${f} gives ${rot} rotary dims of a ${hd}-dim head (must be even, 2 to ${hd})`);
  if (rot !== hd) c.rotaryDim = rot;
}
