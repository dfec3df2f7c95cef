/**
 * Mistral (MistralForCausalLM): Llama's layout and forward with a sliding window. Within the window
 * sliding-window attention is causal attention, so the context is cut to sliding_window and longer
 * sequences are refused rather than computed without the window.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import type { Family } from './family';
import { LLAMA_SPEC, refuseAttentionBias } from './llama';

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  return llamaLikeConfig(r, 'mistral', { eps: ['rms_norm_eps', 1e-6], window: 'cap' });
}

export const mistral: Family = {
  modelTypes: ['mistral'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: false,
  slots: (c, tied) => llamaStyleSlots(c, tied, {}),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, LLAMA_SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, LLAMA_SPEC),
};
