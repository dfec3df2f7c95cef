/**
 * GPT-2 (GPT2LMHeadModel): LayerNorm, learned positions, GELU, biases everywhere. Its Conv1D weights are
 * stored [in, out] and transposed on load.
 *   embed [vocab, dim]; pos_embed [maxSeqLen, dim]; lm_head [vocab, dim]; final_norm.weight/.bias [dim]
 *   layers.{i}.ln1.weight/.bias, .qkv.weight [3dim, dim], .qkv.bias [3dim], .proj.weight [dim, dim], .proj.bias
 *   layers.{i}.ln2.weight/.bias, .fc.weight [hidden, dim], .fc.bias [hidden], .fc_proj.weight [dim, hidden], .fc_proj.bias [dim]
 */
import { tf, type Tensor2D } from '../../tf';
import type { ModelConfig } from '../types';
import type { ForwardHooks, TfModel, TrackedModule } from '../tfModel';
import { attention, geluErf, geluTanh, layerNorm } from '../ops';
import type { KvCache } from '../kvCache';
import type { ConfigReader } from './configReader';
import { NONE, TRANSPOSE, type Slot } from './layout';
import { TORCH_DTYPE, type Family } from './family';

const ACTIVATIONS: Record<string, ModelConfig['activation']> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new', // the same tanh approximation
  gelu: 'gelu',
};

function configFrom(r: ConfigReader): ModelConfig {
  const dim = r.int('n_embd');
  const nHeads = r.int('n_head');
  const act = (r.json.activation_function ?? 'gelu_new') as string;
  const activation = ACTIVATIONS[act];
  r.refuseIf(activation === undefined, `activation_function ${JSON.stringify(act)} (supported: ${Object.keys(ACTIVATIONS).join(', ')})`);
  r.refuseIf(r.bool('scale_attn_by_inverse_layer_idx', false), 'scale_attn_by_inverse_layer_idx: true');
  r.refuseIf(!r.bool('scale_attn_weights', true), 'scale_attn_weights: false');
  r.refuseIf(r.bool('add_cross_attention', false), 'add_cross_attention: true');
  if (dim % nHeads !== 0) throw r.fail('MODEL_FORMAT', `n_embd ${dim} is not divisible by n_head ${nHeads}`);
  const inner = r.json.n_inner;
  return {
    architecture: 'gpt2',
    vocabSize: r.int('vocab_size'),
    dim,
    hiddenDim: inner === undefined || inner === null ? 4 * dim : r.int('n_inner'),
    nLayers: r.int('n_layer'),
    nHeads,
    nKvHeads: nHeads,
    maxSeqLen: r.positions('n_positions', typeof r.json.n_ctx === 'number' ? r.json.n_ctx : undefined),
    normEps: r.num('layer_norm_epsilon', 1e-5),
    ropeTheta: 10000, // unused by GPT-2
    activation: activation as ModelConfig['activation'],
    bosId: r.tokenId('bos_token_id', 50256),
    eosId: r.tokenId('eos_token_id', 50256),
  };
}

function slots(c: ModelConfig, tied: boolean, hfNames?: ReadonlySet<string>): Slot[] {
  // save_pretrained writes GPT2LMHeadModel's `transformer.` prefix; GPT2Model checkpoints have none.
  const p = !hfNames || hfNames.has('transformer.wte.weight') ? 'transformer.' : '';
  const d = c.dim;
  const out: Slot[] = [
    { canonical: 'embed', hf: `${p}wte.weight`, hfShape: [c.vocabSize, d], transform: NONE },
    { canonical: 'pos_embed', hf: `${p}wpe.weight`, hfShape: [c.maxSeqLen, d], transform: NONE },
    { canonical: 'final_norm.weight', hf: `${p}ln_f.weight`, hfShape: [d], transform: NONE },
    { canonical: 'final_norm.bias', hf: `${p}ln_f.bias`, hfShape: [d], transform: NONE },
  ];
  if (!tied) out.push({ canonical: 'lm_head', hf: 'lm_head.weight', hfShape: [c.vocabSize, d], transform: NONE });
  for (let i = 0; i < c.nLayers; i++) {
    const h = `${p}h.${i}`;
    const L = `layers.${i}`;
    out.push(
      { canonical: `${L}.ln1.weight`, hf: `${h}.ln_1.weight`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln1.bias`, hf: `${h}.ln_1.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.qkv.weight`, hf: `${h}.attn.c_attn.weight`, hfShape: [d, 3 * d], transform: TRANSPOSE },
      { canonical: `${L}.qkv.bias`, hf: `${h}.attn.c_attn.bias`, hfShape: [3 * d], transform: NONE },
      { canonical: `${L}.proj.weight`, hf: `${h}.attn.c_proj.weight`, hfShape: [d, d], transform: TRANSPOSE },
      { canonical: `${L}.proj.bias`, hf: `${h}.attn.c_proj.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln2.weight`, hf: `${h}.ln_2.weight`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln2.bias`, hf: `${h}.ln_2.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.fc.weight`, hf: `${h}.mlp.c_fc.weight`, hfShape: [d, c.hiddenDim], transform: TRANSPOSE },
      { canonical: `${L}.fc.bias`, hf: `${h}.mlp.c_fc.bias`, hfShape: [c.hiddenDim], transform: NONE },
      { canonical: `${L}.fc_proj.weight`, hf: `${h}.mlp.c_proj.weight`, hfShape: [c.hiddenDim, d], transform: TRANSPOSE },
      { canonical: `${L}.fc_proj.bias`, hf: `${h}.mlp.c_proj.bias`, hfShape: [d], transform: NONE },
    );
  }
  return out;
}

function trackedModules(c: ModelConfig): TrackedModule[] {
  const out: TrackedModule[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    out.push({ name: p + 'mlp.c_fc', weight: p + 'fc.weight', bias: p + 'fc.bias', inDim: c.dim, outDim: c.hiddenDim });
    out.push({ name: p + 'mlp.c_proj', weight: p + 'fc_proj.weight', bias: p + 'fc_proj.bias', inDim: c.hiddenDim, outDim: c.dim });
  }
  return out;
}

function forward(m: TfModel, ids: Tensor2D, hooks?: ForwardHooks, cache?: KvCache): Tensor2D {
  const c = m.config;
  const [B, L] = ids.shape;
  const hd = c.dim / c.nHeads;
  const act = c.activation === 'gelu' ? geluErf : geluTanh;
  const offset = cache?.length ?? 0;
  const positions = tf.tile(tf.range(offset, offset + L, 1, 'int32'), [B]);
  let x = tf.add(m.embed('embed', ids), m.embed('pos_embed', positions)) as Tensor2D;
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const h = layerNorm(x, m.t(p + 'ln1.weight'), m.t(p + 'ln1.bias'), c.normEps);
    const qkv = tf.add(m.linear(h, p + 'qkv.weight'), m.t(p + 'qkv.bias')) as Tensor2D;
    const [q, kNew, vNew] = tf.split(qkv, 3, 1).map((t) => tf.reshape(t, [B, L, c.nHeads, hd]));
    const { k, v } = cache ? cache.extend(i, kNew, vNew) : { k: kNew, v: vNew };
    const att = attention(q, k, v, c.nHeads, c.nHeads, m.causalMask(L, 1, offset));
    x = tf.add(x, tf.add(m.linear(att, p + 'proj.weight'), m.t(p + 'proj.bias')));
    const h2 = layerNorm(x, m.t(p + 'ln2.weight'), m.t(p + 'ln2.bias'), c.normEps);
    const [fc, proj] = m.allTracked.slice(2 * i, 2 * i + 2);
    x = tf.add(x, m.trackedLinear(proj, act(m.trackedLinear(fc, h2, hooks)) as Tensor2D, hooks));
  }
  return m.linear(layerNorm(x, m.t('final_norm.weight'), m.t('final_norm.bias'), c.normEps), 'lm_head');
}

export const gpt2: Family = {
  modelTypes: ['gpt2'],
  configFrom,
  layers: { key: 'n_layer', pattern: /^(?:transformer\.)?h\.(\d+)\./ },
  tiedByDefault: true,
  slots,
  hfConfig: (c, tied, dtype) => {
    if (c.nKvHeads !== c.nHeads) throw new Error('GPT-2 has no grouped-query attention (nKvHeads must equal nHeads)');
    if (c.activation === 'silu') throw new Error('GPT-2 uses gelu_new or gelu, not silu');
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: c.vocabSize,
      n_embd: c.dim,
      n_inner: c.hiddenDim === 4 * c.dim ? null : c.hiddenDim,
      n_layer: c.nLayers,
      n_head: c.nHeads,
      n_positions: c.maxSeqLen,
      n_ctx: c.maxSeqLen,
      activation_function: c.activation,
      layer_norm_epsilon: c.normEps,
      bos_token_id: c.bosId,
      eos_token_id: c.eosId,
      tie_word_embeddings: tied,
      torch_dtype: TORCH_DTYPE[dtype],
    };
  },
  linears: ['qkv.weight', 'proj.weight', 'fc.weight', 'fc_proj.weight', 'lm_head'],
  mlpLinears: 2,
  trackedModules,
  forward,
};
