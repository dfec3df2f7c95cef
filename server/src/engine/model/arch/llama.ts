/**
 * Llama (LlamaForCausalLM), Llama 3.x included (rope_scaling 'llama3'), and SmolLM/TinyLlama, which are
 * Llama checkpoints: RMSNorm, rotate-half RoPE (q/k rows reordered on load), grouped-query attention, SwiGLU.
 */
import type { FloatDtype } from '../safetensors';
import type { ModelConfig } from '../types';
import type { ConfigReader, Json } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, headDim, type DecoderSpec } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import { TORCH_DTYPE, type Family } from './family';

export const LLAMA_SPEC: DecoderSpec = {
  norm: 'rms',
  block: 'sequential',
  mlp: 'gated',
  attnBias: 'none',
  mlpBias: false,
  qkNorm: 'none',
  modules: ['gate', 'up', 'down'],
};

/** The config fields Llama and the families built like it refuse. */
export function refuseAttentionBias(r: ConfigReader): void {
  r.refuseIf(r.bool('attention_bias', false), 'attention_bias: true');
}

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  return llamaLikeConfig(r, 'llama');
}

function hfConfig(c: ModelConfig, tied: boolean, dtype: FloatDtype): Json {
  const s = c.ropeScaling;
  return {
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    vocab_size: c.vocabSize,
    hidden_size: c.dim,
    intermediate_size: c.hiddenDim,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    ...(c.headDim !== undefined ? { head_dim: headDim(c) } : {}),
    max_position_embeddings: c.maxSeqLen,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    rope_scaling: !s
      ? null
      : s.kind === 'linear'
        ? { rope_type: 'linear', factor: s.factor }
        : {
            rope_type: 'llama3',
            factor: s.factor,
            low_freq_factor: s.lowFreqFactor,
            high_freq_factor: s.highFreqFactor,
            original_max_position_embeddings: s.originalMaxPositions,
          },
    hidden_act: 'silu',
    attention_bias: false,
    mlp_bias: false,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    tie_word_embeddings: tied,
    torch_dtype: TORCH_DTYPE[dtype],
  };
}

export const llama: Family = {
  modelTypes: ['llama'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, {}),
  hfConfig,
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, LLAMA_SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, LLAMA_SPEC),
};
