/** Qwen2 / Qwen2.5 (Qwen2ForCausalLM): Llama with biases on q, k and v; tied or untied head. */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, type DecoderSpec } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import type { Family } from './family';

const SPEC: DecoderSpec = { norm: 'rms', block: 'sequential', mlp: 'gated', attnBias: 'qkv', mlpBias: false, qkNorm: 'none', modules: ['gate', 'up', 'down'] };

function configFrom(r: ConfigReader): ModelConfig {
  // Qwen2's q/k/v always carry biases (there is no attention_bias field); o_proj never does.
  return llamaLikeConfig(r, 'qwen2', { window: 'qwen', bos: 151643, eos: 151643 });
}

export const qwen2: Family = {
  modelTypes: ['qwen2'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, { qkvBias: true }),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, SPEC),
};
