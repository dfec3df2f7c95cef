/**
 * What the Llama-style families share: the `model.layers.{i}.self_attn/mlp` checkpoint layout (with the
 * variations some of them add) and the config.json fields they read alike.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { headDim, rotaryDim } from './decoder';
import { headRows, NONE, rowRange, rows, type Slot, type Transform } from './layout';

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
    const slot = (canonical: string, hf: string, hfShape: number[], transform: Transform = NONE) =>
      out.push({ canonical: `${L}.${canonical}`, hf: `${l}.${hf}`, hfShape, transform });
    if (layout.postNorms) {
      slot('attn_norm', 'post_attention_layernorm.weight', [c.dim]);
      slot('mlp_norm', 'post_feedforward_layernorm.weight', [c.dim]);
    } else {
      slot('attn_norm', 'input_layernorm.weight', [c.dim]);
      if (!layout.sharedNorm) slot('mlp_norm', 'post_attention_layernorm.weight', [c.dim]);
    }
    if (layout.fused) {
      const shape = [qDim + 2 * kvDim, c.dim];
      slot(
        'wq',
        'self_attn.qkv_proj.weight',
        shape,
        rows(() => headRows(c.nHeads, hd, { rot })),
      );
      slot(
        'wk',
        'self_attn.qkv_proj.weight',
        shape,
        rows(() => headRows(c.nKvHeads, hd, { first: qDim, rot })),
      );
      slot(
        'wv',
        'self_attn.qkv_proj.weight',
        shape,
        rows(() => rowRange(qDim + kvDim, kvDim)),
      );
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
      slot(
        'w1',
        'mlp.gate_up_proj.weight',
        [2 * I, c.dim],
        rows(() => rowRange(0, I)),
      );
      slot(
        'w3',
        'mlp.gate_up_proj.weight',
        [2 * I, c.dim],
        rows(() => rowRange(I, I)),
      );
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
  if (f > 1 || rot % 2 !== 0 || rot === 0)
    throw r.fail('MODEL_FORMAT', `"${key}" ${f} gives ${rot} rotary dims of a ${hd}-dim head (must be even, 2 to ${hd})`);
  if (rot !== hd) c.rotaryDim = rot;
}
