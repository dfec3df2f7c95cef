/**
 * Small random checkpoints in the exact Hugging Face layout of each supported model_type: config.json
 * with that class's field names, and tensors under the names and shapes (fused, interleaved, Conv1D as
 * stored) that save_pretrained writes, as one file or in shards with model.safetensors.index.json.
 * The tensors come back rounded to the dtype written, so a reference run on them sees what the loader reads.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16, writeSafetensors, type FloatDtype } from '../../server/src/engine/model/safetensors';
import type { HostTensor } from '../../server/src/engine/model/types';
import { normalSampler } from './randomCheckpoint';

type Json = Record<string, unknown>;

const COMMON = {
  vocab_size: 64,
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 64,
  bos_token_id: 1,
  eos_token_id: 2,
};

/** One config.json per model_type, each exercising what defines its family. */
export const FAMILY_CONFIGS: Record<string, Json> = {
  llama: { ...COMMON, model_type: 'llama', architectures: ['LlamaForCausalLM'], rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: false },
  'llama3.x': {
    ...COMMON,
    model_type: 'llama',
    architectures: ['LlamaForCausalLM'],
    rms_norm_eps: 1e-5,
    rope_theta: 500000,
    tie_word_embeddings: true,
    // original_max_position_embeddings small enough that all three bands (kept, smoothed, divided) occur at head_dim 8.
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  qwen2: {
    ...COMMON,
    model_type: 'qwen2',
    architectures: ['Qwen2ForCausalLM'],
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: false,
    sliding_window: 8,
    use_sliding_window: false,
  },
  mistral: {
    ...COMMON,
    model_type: 'mistral',
    architectures: ['MistralForCausalLM'],
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    sliding_window: 24,
    tie_word_embeddings: false,
  },
  qwen3: {
    ...COMMON,
    model_type: 'qwen3',
    architectures: ['Qwen3ForCausalLM'],
    head_dim: 16,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  },
  phi3: {
    ...COMMON,
    model_type: 'phi3',
    architectures: ['Phi3ForCausalLM'],
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    partial_rotary_factor: 0.5,
    sliding_window: 48,
    tie_word_embeddings: false,
  },
  olmo2: { ...COMMON, model_type: 'olmo2', architectures: ['Olmo2ForCausalLM'], rms_norm_eps: 1e-6, rope_theta: 500000, tie_word_embeddings: false },
  cohere: { ...COMMON, model_type: 'cohere', architectures: ['CohereForCausalLM'], layer_norm_eps: 1e-5, rope_theta: 10000, logit_scale: 0.25 },
  gpt_neox: {
    model_type: 'gpt_neox',
    architectures: ['GPTNeoXForCausalLM'],
    vocab_size: 64,
    hidden_size: 64,
    intermediate_size: 128,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    max_position_embeddings: 64,
    rotary_pct: 0.25,
    rotary_emb_base: 10000,
    layer_norm_eps: 1e-5,
    hidden_act: 'gelu',
    use_parallel_residual: true,
    tie_word_embeddings: false,
    bos_token_id: 0,
    eos_token_id: 0,
  },
};

const n = (cfg: Json, key: string) => cfg[key] as number;

/** Every tensor the HF class stores, with its shape. */
export function hfTensorShapes(cfg: Json): Map<string, number[]> {
  const s = new Map<string, number[]>();
  const d = n(cfg, 'hidden_size');
  const H = n(cfg, 'num_attention_heads');
  const V = n(cfg, 'vocab_size');
  const I = n(cfg, 'intermediate_size');
  if (cfg.model_type === 'gpt_neox') {
    s.set('gpt_neox.embed_in.weight', [V, d]);
    for (let i = 0; i < n(cfg, 'num_hidden_layers'); i++) {
      const p = `gpt_neox.layers.${i}.`;
      for (const ln of ['input_layernorm', 'post_attention_layernorm']) s.set(p + ln + '.weight', [d]).set(p + ln + '.bias', [d]);
      s.set(p + 'attention.query_key_value.weight', [3 * d, d]).set(p + 'attention.query_key_value.bias', [3 * d]);
      s.set(p + 'attention.dense.weight', [d, d]).set(p + 'attention.dense.bias', [d]);
      s.set(p + 'mlp.dense_h_to_4h.weight', [I, d]).set(p + 'mlp.dense_h_to_4h.bias', [I]);
      s.set(p + 'mlp.dense_4h_to_h.weight', [d, I]).set(p + 'mlp.dense_4h_to_h.bias', [d]);
    }
    s.set('gpt_neox.final_layer_norm.weight', [d]).set('gpt_neox.final_layer_norm.bias', [d]);
    if (cfg.tie_word_embeddings !== true) s.set('embed_out.weight', [V, d]);
    return s;
  }
  const type = cfg.model_type;
  const Hkv = n(cfg, 'num_key_value_heads');
  const hd = (cfg.head_dim as number | undefined) ?? d / H;
  s.set('model.embed_tokens.weight', [V, d]);
  for (let i = 0; i < n(cfg, 'num_hidden_layers'); i++) {
    const p = `model.layers.${i}.`;
    if (type === 'olmo2') s.set(p + 'post_attention_layernorm.weight', [d]).set(p + 'post_feedforward_layernorm.weight', [d]);
    else if (type === 'cohere') s.set(p + 'input_layernorm.weight', [d]);
    else s.set(p + 'input_layernorm.weight', [d]).set(p + 'post_attention_layernorm.weight', [d]);
    if (type === 'phi3') s.set(p + 'self_attn.qkv_proj.weight', [(H + 2 * Hkv) * hd, d]);
    else
      s.set(p + 'self_attn.q_proj.weight', [H * hd, d])
        .set(p + 'self_attn.k_proj.weight', [Hkv * hd, d])
        .set(p + 'self_attn.v_proj.weight', [Hkv * hd, d]);
    if (type === 'qwen2')
      s.set(p + 'self_attn.q_proj.bias', [H * hd])
        .set(p + 'self_attn.k_proj.bias', [Hkv * hd])
        .set(p + 'self_attn.v_proj.bias', [Hkv * hd]);
    if (type === 'qwen3') s.set(p + 'self_attn.q_norm.weight', [hd]).set(p + 'self_attn.k_norm.weight', [hd]);
    if (type === 'olmo2') s.set(p + 'self_attn.q_norm.weight', [H * hd]).set(p + 'self_attn.k_norm.weight', [Hkv * hd]);
    s.set(p + 'self_attn.o_proj.weight', [d, H * hd]);
    if (type === 'phi3') s.set(p + 'mlp.gate_up_proj.weight', [2 * I, d]);
    else s.set(p + 'mlp.gate_proj.weight', [I, d]).set(p + 'mlp.up_proj.weight', [I, d]);
    s.set(p + 'mlp.down_proj.weight', [d, I]);
  }
  s.set('model.norm.weight', [d]);
  const tied = (cfg.tie_word_embeddings ?? type === 'cohere') === true;
  if (!tied) s.set('lm_head.weight', [V, d]);
  return s;
}

/** Seeded values: norm gains near 1, small biases, linears ~ N(0, (0.5)²/fan_in), embeddings N(0, 0.1²). */
export function randomHfTensors(cfg: Json, seed: number): Map<string, HostTensor> {
  const randn = normalSampler(seed);
  const out = new Map<string, HostTensor>();
  for (const [name, shape] of hfTensorShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    const isNorm = /(norm|layernorm)\.weight$/.test(name);
    const [mean, std] = isNorm
      ? [1, 0.05]
      : name.endsWith('.bias')
        ? [0, 0.02]
        : /embed|lm_head|embed_out/.test(name)
          ? [0, 0.1]
          : [0, 0.5 / Math.sqrt(shape[1])];
    const data = new Float32Array(size);
    for (let i = 0; i < size; i++) data[i] = mean + std * randn();
    out.set(name, { shape, data });
  }
  return out;
}

const rounded = (t: HostTensor, dtype: FloatDtype): HostTensor =>
  dtype === 'F32' ? t : { shape: t.shape, data: dtype === 'BF16' ? bf16ToF32(f32ToBf16(t.data)) : f16ToF32(f32ToF16(t.data)) };

/**
 * Writes config.json and the tensors (one model.safetensors, or `shards` files with an index) into dir;
 * returns the tensors as written (rounded to dtype).
 */
export function writeHfCheckpoint(
  dir: string,
  cfg: Json,
  tensors: Map<string, HostTensor>,
  opts: { dtype?: FloatDtype; shards?: number } = {},
): Map<string, HostTensor> {
  const dtype = opts.dtype ?? 'F32';
  const shards = opts.shards ?? 1;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, torch_dtype: { F32: 'float32', BF16: 'bfloat16', F16: 'float16' }[dtype] }, null, 2));
  const stored = new Map([...tensors].map(([k, t]) => [k, rounded(t, dtype)]));
  if (shards === 1) {
    writeSafetensors(join(dir, 'model.safetensors'), stored, { dtype, metadata: { format: 'pt' } });
    return stored;
  }
  const names = [...stored.keys()];
  const weightMap: Record<string, string> = {};
  for (let s = 0; s < shards; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(shards).padStart(5, '0')}.safetensors`;
    const part = new Map(names.filter((_, i) => i % shards === s).map((k) => [k, stored.get(k) as HostTensor]));
    for (const k of part.keys()) weightMap[k] = file;
    writeSafetensors(join(dir, file), part, { dtype, metadata: { format: 'pt' } });
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  return stored;
}
