/**
 * Phi-3 (Phi3ForCausalLM): Llama's forward with q/k/v fused in qkv_proj and gate/up in gate_up_proj
 * (split on load: the gate and up halves are tracked as two modules), partial_rotary_factor, and a
 * sliding window that cuts the context as Mistral's does. longrope scaling (the 128k models) is refused.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots, partialRotary } from './llamaStyle';
import type { Family } from './family';
import { LLAMA_SPEC, refuseAttentionBias } from './llama';

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  const c = llamaLikeConfig(r, 'phi3', { eps: ['rms_norm_eps', 1e-5], window: 'cap', bos: 1, eos: 32000 });
  partialRotary(r, c, 'partial_rotary_factor', 1);
  return c;
}

export const phi3: Family = {
  modelTypes: ['phi3'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, { fused: true }),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, LLAMA_SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, LLAMA_SPEC),
};
