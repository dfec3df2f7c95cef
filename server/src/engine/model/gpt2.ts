/** GPT-2 forward pass: LayerNorm, learned positions, GELU, biases everywhere. */
import { tf, type Tensor2D } from '../tf';
import type { ModelConfig } from './types';
import type { ForwardHooks, TfModel, TrackedModule } from './tfModel';
import { attention, geluErf, geluTanh, layerNorm } from './ops';
import type { KvCache } from './kvCache';

export const GPT2_LINEARS = ['qkv.weight', 'proj.weight', 'fc.weight', 'fc_proj.weight', 'lm_head'];

export function gpt2TrackedModules(c: ModelConfig): TrackedModule[] {
  const out: TrackedModule[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    out.push({ name: p + 'mlp.c_fc', weight: p + 'fc.weight', bias: p + 'fc.bias', inDim: c.dim, outDim: c.hiddenDim });
    out.push({ name: p + 'mlp.c_proj', weight: p + 'fc_proj.weight', bias: p + 'fc_proj.bias', inDim: c.hiddenDim, outDim: c.dim });
  }
  return out;
}

export function gpt2Forward(m: TfModel, ids: Tensor2D, hooks?: ForwardHooks, cache?: KvCache): Tensor2D {
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
