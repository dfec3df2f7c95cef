/**
 * OLMo 2 (Olmo2ForCausalLM): RMSNorm after attention and after the MLP instead of before them, and an
 * RMSNorm of q and k over the whole projection (all heads at once) before RoPE.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, type DecoderSpec } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import type { Family } from './family';
import { refuseAttentionBias } from './llama';

const SPEC: DecoderSpec = { norm: 'rms', block: 'post', mlp: 'gated', attnBias: 'none', mlpBias: false, qkNorm: 'whole', modules: ['gate', 'up', 'down'] };

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  return llamaLikeConfig(r, 'olmo2', { eps: ['rms_norm_eps', 1e-5], bos: 100257, eos: 100257 });
}

export const olmo2: Family = {
  modelTypes: ['olmo2'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, { postNorms: true, qkNorm: 'whole' }),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, SPEC),
};
