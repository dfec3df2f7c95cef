/**
 * Cohere Command R (CohereForCausalLM): one LayerNorm without bias feeding attention and MLP in parallel,
 * RoPE on interleaved (consecutive) pairs, logits multiplied by logit_scale, tied embeddings.
 * use_qk_norm (Command R+) is refused.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, type DecoderSpec } from './decoder';
import { LLAMA_STYLE_LAYERS, llamaLikeConfig, llamaStyleSlots } from './llamaStyle';
import type { Family } from './family';
import { refuseAttentionBias } from './llama';

const SPEC: DecoderSpec = {
  norm: 'layerNoBias',
  block: 'shared',
  mlp: 'gated',
  attnBias: 'none',
  mlpBias: false,
  qkNorm: 'none',
  modules: ['gate', 'up', 'down'],
};

function configFrom(r: ConfigReader): ModelConfig {
  refuseAttentionBias(r);
  r.refuseIf(r.bool('use_qk_norm', false), 'use_qk_norm: true');
  const c = llamaLikeConfig(r, 'cohere', { eps: ['layer_norm_eps', 1e-5], bos: 5, eos: 255001 });
  const scale = r.json.logit_scale ?? 0.0625;
  if (typeof scale !== 'number' || !Number.isFinite(scale)) throw r.fail('MODEL_FORMAT', `"logit_scale" must be a number, got ${JSON.stringify(scale)}`);
  c.logitScale = scale;
  return c;
}

export const cohere: Family = {
  modelTypes: ['cohere'],
  configFrom,
  layers: LLAMA_STYLE_LAYERS,
  tiedByDefault: true,
  slots: (c, tied) => llamaStyleSlots(c, tied, { sharedNorm: true, interleaved: true }),
  linears: DECODER_LINEARS,
  mlpLinears: 3,
  trackedModules: (c) => decoderTrackedModules(c, SPEC),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, SPEC),
};
