/**
 * GPT-NeoX / Pythia (GPTNeoXForCausalLM): LayerNorm with bias, attention and MLP in parallel off the same
 * residual (use_parallel_residual), q/k/v fused and interleaved per head ([head][q|k|v][hd] rows), RoPE on
 * the first rotary_pct of each head (rotate-half, reordered on load), biases everywhere, a plain GELU MLP
 * (dense_h_to_4h, dense_4h_to_h) and an untied embed_out.
 */
import type { ModelConfig } from '../types';
import type { ConfigReader } from './configReader';
import { DECODER_LINEARS, decoderForward, decoderTrackedModules, headDim, rotaryDim, type DecoderSpec } from './decoder';
import { partialRotary } from './llamaStyle';
import type { Family } from './family';
import { headRows, NONE, rows, type Slot } from './layout';

const spec = (c: ModelConfig): DecoderSpec => ({
  norm: 'layer',
  block: c.parallelResidual ? 'parallel' : 'sequential',
  mlp: 'plain',
  attnBias: 'all',
  mlpBias: true,
  qkNorm: 'none',
  modules: ['dense_h_to_4h', 'dense_4h_to_h'],
});

const ACTIVATIONS: Record<string, ModelConfig['activation']> = { gelu: 'gelu', gelu_new: 'gelu_new', gelu_pytorch_tanh: 'gelu_new', gelu_fast: 'gelu_new' };

function configFrom(r: ConfigReader): ModelConfig {
  const dim = r.int('hidden_size');
  const nHeads = r.int('num_attention_heads');
  const act = (r.json.hidden_act ?? 'gelu') as string;
  r.refuseIf(ACTIVATIONS[act] === undefined, `hidden_act ${JSON.stringify(act)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  r.refuseIf(!r.bool('attention_bias', true), 'attention_bias: false');
  if (dim % nHeads !== 0) throw r.fail('MODEL_FORMAT', `hidden_size ${dim} is not divisible by num_attention_heads ${nHeads}`);
  const c: ModelConfig = {
    architecture: 'gpt_neox',
    vocabSize: r.int('vocab_size'),
    dim,
    hiddenDim: r.int('intermediate_size'),
    nLayers: r.int('num_hidden_layers'),
    nHeads,
    nKvHeads: nHeads,
    maxSeqLen: r.positions('max_position_embeddings', 2048),
    normEps: r.num('layer_norm_eps', 1e-5),
    ropeTheta: r.num('rope_theta', typeof r.json.rotary_emb_base === 'number' ? r.json.rotary_emb_base : 10000),
    activation: ACTIVATIONS[act],
    bosId: r.tokenId('bos_token_id', 0),
    eosId: r.tokenId('eos_token_id', 0),
    parallelResidual: r.bool('use_parallel_residual', true),
  };
  partialRotary(r, c, 'rotary_pct', 0.25);
  const scaling = r.ropeScaling();
  if (scaling) c.ropeScaling = scaling;
  return c;
}

function slots(c: ModelConfig, tied: boolean): Slot[] {
  const d = c.dim;
  const hd = headDim(c);
  const rot = rotaryDim(c);
  const out: Slot[] = [
    { canonical: 'embed', hf: 'gpt_neox.embed_in.weight', hfShape: [c.vocabSize, d], transform: NONE },
    { canonical: 'final_norm', hf: 'gpt_neox.final_layer_norm.weight', hfShape: [d], transform: NONE },
    { canonical: 'final_norm.bias', hf: 'gpt_neox.final_layer_norm.bias', hfShape: [d], transform: NONE },
  ];
  if (!tied) out.push({ canonical: 'lm_head', hf: 'embed_out.weight', hfShape: [c.vocabSize, d], transform: NONE });
  // Rows of query_key_value: head h holds q, k, v (hd rows each) at h·3hd.
  const part = (j: number) => rows(() => headRows(c.nHeads, hd, { first: j * hd, stride: 3 * hd, rot: j < 2 ? rot : 0 }));
  for (let i = 0; i < c.nLayers; i++) {
    const g = `gpt_neox.layers.${i}`;
    const L = `layers.${i}`;
    const slot = (canonical: string, hf: string, hfShape: number[], transform = NONE) =>
      out.push({ canonical: `${L}.${canonical}`, hf: `${g}.${hf}`, hfShape, transform });
    slot('attn_norm', 'input_layernorm.weight', [d]);
    slot('attn_norm.bias', 'input_layernorm.bias', [d]);
    slot('mlp_norm', 'post_attention_layernorm.weight', [d]);
    slot('mlp_norm.bias', 'post_attention_layernorm.bias', [d]);
    ['q', 'k', 'v'].forEach((x, j) => {
      slot(`w${x}`, 'attention.query_key_value.weight', [3 * d, d], part(j));
      slot(`b${x}`, 'attention.query_key_value.bias', [3 * d], part(j));
    });
    slot('wo', 'attention.dense.weight', [d, d]);
    slot('bo', 'attention.dense.bias', [d]);
    slot('fc', 'mlp.dense_h_to_4h.weight', [c.hiddenDim, d]);
    slot('fc.bias', 'mlp.dense_h_to_4h.bias', [c.hiddenDim]);
    slot('fc_proj', 'mlp.dense_4h_to_h.weight', [d, c.hiddenDim]);
    slot('fc_proj.bias', 'mlp.dense_4h_to_h.bias', [d]);
  }
  return out;
}

export const gptNeox: Family = {
  modelTypes: ['gpt_neox'],
  configFrom,
  layers: { key: 'num_hidden_layers', pattern: /^gpt_neox\.layers\.(\d+)\./ },
  tiedByDefault: false,
  slots,
  linears: DECODER_LINEARS,
  mlpLinears: 2,
  trackedModules: (c) => decoderTrackedModules(c, spec(c)),
  forward: (m, ids, hooks, cache) => decoderForward(m, ids, hooks, cache, spec(m.config)),
};
