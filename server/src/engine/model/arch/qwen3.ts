/** Qwen3 (Qwen3ForCausalLM): Llama with a per-head RMSNorm of q and k before RoPE and an explicit head_dim. */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, type DecoderSpec } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import type { Family } from './family';
import { refuseAttentionBias } from './llama';

const SPEC: DecoderSpec = { norm: 'rms', block: 'sequential', mlp: 'gated', attnBias: 'none', mlpBias: false, qkNorm: 'head', modules: ['gate', 'up', 'down'] };

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  // Qwen3Config's head_dim defaults to 128, whatever hidden_size / heads is.
  return llamaLikeConfig(r, 'qwen3', { headDim: 128, window: 'qwen', bos: 151643, eos: 151645 });
}

export const qwen3: Family = {
  modelTypes: ['qwen3'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, { qkNorm: 'head' }),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, SPEC),
};
