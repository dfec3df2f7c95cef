/**
 * The pre-norm RoPE decoder most families are variations of (Llama, Mistral, Qwen, Phi-3, OLMo 2, Cohere,
 * GPT-NeoX): one forward pass, its variations declared per family as a DecoderSpec. The checkpoint layout
 * and config fields the Llama-style families share are in llamaStyle.ts.
 *
 * Canonical weights (every linear [out, in]; q/k rows in consecutive RoPE pairs, see layout.ts headRows):
 *   embed [vocab, dim]; lm_head [vocab, dim]; final_norm [dim] (+ final_norm.bias for LayerNorm with bias)
 *   layers.{i}.attn_norm, .mlp_norm [dim] (+ .bias); with block 'post' they follow attention and MLP
 *   layers.{i}.wq [H·hd, dim], .wk/.wv [Hkv·hd, dim], .wo [dim, H·hd]; biases .bq .bk .bv (.bo)
 *   layers.{i}.q_norm, .k_norm: [hd] per head (qkNorm 'head') or [H·hd] / [Hkv·hd] ('whole')
 *   gated MLP: layers.{i}.w1 (gate) [hidden, dim], .w3 (up) [hidden, dim], .w2 (down) [dim, hidden]
 *   plain MLP: layers.{i}.fc [hidden, dim], .fc_proj [dim, hidden] (+ .bias)
 */
import { tf, type Tensor, type Tensor2D } from '../../tf';
import type { ModelConfig } from '../types';
import type { ForwardHooks, TfModel, TrackedModule } from '../tfModel';
import { attention, geluErf, geluTanh, layerNorm, layerNormNoBias, linear, rmsNorm, ropeInverseFrequencies, ropeRotation, ropeTables, silu } from '../ops';
import type { KvCache } from '../kvCache';

export interface DecoderSpec {
  norm: 'rms' | 'layer' | 'layerNoBias';
  /**
   * sequential: x += attn(n1(x)); x += mlp(n2(x)). parallel: x += attn(n1(x)) + mlp(n2(x)) (GPT-NeoX).
   * shared: x += attn(n) + mlp(n), n = n1(x) (Cohere). post: x += n1(attn(x)); x += n2(mlp(x)) (OLMo 2).
   */
  block: 'sequential' | 'parallel' | 'shared' | 'post';
  mlp: 'gated' | 'plain';
  attnBias: 'none' | 'qkv' | 'all';
  mlpBias: boolean;
  /** RMSNorm of q and k before RoPE: per head, or over the whole projection. */
  qkNorm: 'none' | 'head' | 'whole';
  /** Tracked module names after `layers.{i}.mlp.`: gate, up, down (gated) or in, out (plain). */
  modules: readonly string[];
}

export const DECODER_LINEARS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'fc', 'fc_proj', 'lm_head'];

export const headDim = (c: ModelConfig): number => c.headDim ?? c.dim / c.nHeads;
export const rotaryDim = (c: ModelConfig): number => c.rotaryDim ?? headDim(c);

export function decoderTrackedModules(c: ModelConfig, spec: DecoderSpec): TrackedModule[] {
  const out: TrackedModule[] = [];
  const bias = (w: string) => (spec.mlpBias ? { bias: w + '.bias' } : {});
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const name = (k: number) => `${p}mlp.${spec.modules[k]}`;
    if (spec.mlp === 'gated') {
      out.push({ name: name(0), weight: p + 'w1', ...bias(p + 'w1'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(1), weight: p + 'w3', ...bias(p + 'w3'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(2), weight: p + 'w2', ...bias(p + 'w2'), inDim: c.hiddenDim, outDim: c.dim });
    } else {
      out.push({ name: name(0), weight: p + 'fc', ...bias(p + 'fc'), inDim: c.dim, outDim: c.hiddenDim });
      out.push({ name: name(1), weight: p + 'fc_proj', ...bias(p + 'fc_proj'), inDim: c.hiddenDim, outDim: c.dim });
    }
  }
  return out;
}

/**
 * RoPE as x·C + rot(x)·S, with rot(x) = x·R pairing (x0, x1) → (−x1, x0): one small matmul instead of
 * split/concat, whose gradients are slow on wasm. Tables are cached on the model (the backward pass uses R
 * too) and sized to the positions in use, not the whole context.
 */
function rope(m: TfModel, L: number, offset: number) {
  const c = m.config;
  const hd = headDim(c);
  const n = m.span(offset + L);
  let made: ReturnType<typeof ropeTables> | undefined;
  const tables = () => (made ??= ropeTables(n, hd, ropeInverseFrequencies(rotaryDim(c), c.ropeTheta, c.ropeScaling)));
  return {
    // Sliced per call: only the custom-gradient closures (R, RT) must outlive the forward pass.
    cos: tf.slice(
      m.constant(`rope.cos.${n}`, () => tf.tensor4d(tables().cos, [1, n, 1, hd])),
      [0, offset, 0, 0],
      [1, L, 1, hd],
    ),
    sin: tf.slice(
      m.constant(`rope.sin.${n}`, () => tf.tensor4d(tables().sin, [1, n, 1, hd])),
      [0, offset, 0, 0],
      [1, L, 1, hd],
    ),
    R: m.constant('rope.R', () => tf.tensor2d(ropeRotation(hd, false), [hd, hd])),
    RT: m.constant('rope.RT', () => tf.tensor2d(ropeRotation(hd, true), [hd, hd])),
  };
}

const ACTIVATION: Record<ModelConfig['activation'], (x: Tensor) => Tensor> = { silu, gelu: geluErf, gelu_new: geluTanh };

export function decoderForward(m: TfModel, ids: Tensor2D, hooks: ForwardHooks | undefined, cache: KvCache | undefined, spec: DecoderSpec): Tensor2D {
  const c = m.config;
  const [B, L] = ids.shape;
  const hd = headDim(c);
  const offset = cache?.length ?? 0;
  const r = rope(m, L, offset);
  const applyRope = (x: Tensor2D, heads: number) => {
    const x4 = tf.reshape(x, [B, L, heads, hd]);
    const rotated = tf.reshape(linear(tf.reshape(x, [B * L * heads, hd]) as Tensor2D, r.R, r.RT), [B, L, heads, hd]);
    return tf.add(tf.mul(x4, r.cos), tf.mul(rotated, r.sin));
  };
  const norm = (x: Tensor2D, w: string): Tensor2D => {
    if (spec.norm === 'rms') return rmsNorm(x, m.t(w), c.normEps);
    if (spec.norm === 'layer') return layerNorm(x, m.t(w), m.t(w + '.bias'), c.normEps);
    return layerNormNoBias(x, m.t(w), c.normEps);
  };
  const proj = (h: Tensor2D, w: string, b: string | false): Tensor2D => (b ? tf.add(m.linear(h, w), m.t(b)) : m.linear(h, w));
  const qkNorm = (x: Tensor2D, w: string, heads: number): Tensor2D => {
    if (spec.qkNorm === 'whole') return rmsNorm(x, m.t(w), c.normEps);
    if (spec.qkNorm === 'none') return x;
    return tf.reshape(rmsNorm(tf.reshape(x, [B * L * heads, hd]) as Tensor2D, m.t(w), c.normEps), [B * L, heads * hd]);
  };
  const act = ACTIVATION[c.activation];
  const per = spec.mlp === 'gated' ? 3 : 2;
  const qkvBias = spec.attnBias !== 'none';
  const mask = m.causalMask(L, c.nHeads / c.nKvHeads, offset);
  let x = m.embed('embed', ids);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const attn = (h: Tensor2D): Tensor2D => {
      const q = applyRope(qkNorm(proj(h, p + 'wq', qkvBias && p + 'bq'), p + 'q_norm', c.nHeads), c.nHeads);
      const kNew = applyRope(qkNorm(proj(h, p + 'wk', qkvBias && p + 'bk'), p + 'k_norm', c.nKvHeads), c.nKvHeads);
      const vNew = tf.reshape(proj(h, p + 'wv', qkvBias && p + 'bv'), [B, L, c.nKvHeads, hd]);
      const { k, v } = cache ? cache.extend(i, kNew, vNew) : { k: kNew, v: vNew };
      return proj(attention(q, k, v, c.nHeads, c.nKvHeads, mask), p + 'wo', spec.attnBias === 'all' && p + 'bo');
    };
    const mlp = (h: Tensor2D): Tensor2D => {
      const mods = m.allTracked.slice(per * i, per * i + per);
      if (spec.mlp === 'plain') return m.trackedLinear(mods[1], act(m.trackedLinear(mods[0], h, hooks)) as Tensor2D, hooks);
      const inner = tf.mul(act(m.trackedLinear(mods[0], h, hooks)), m.trackedLinear(mods[1], h, hooks)) as Tensor2D;
      return m.trackedLinear(mods[2], inner, hooks);
    };
    if (spec.block === 'sequential') {
      x = tf.add(x, attn(norm(x, p + 'attn_norm')));
      x = tf.add(x, mlp(norm(x, p + 'mlp_norm')));
    } else if (spec.block === 'parallel') {
      x = tf.addN([x, attn(norm(x, p + 'attn_norm')), mlp(norm(x, p + 'mlp_norm'))]);
    } else if (spec.block === 'shared') {
      const h = norm(x, p + 'attn_norm');
      x = tf.addN([x, attn(h), mlp(h)]);
    } else {
      x = tf.add(x, norm(attn(x), p + 'attn_norm'));
      x = tf.add(x, norm(mlp(x), p + 'mlp_norm'));
    }
  }
  const logits = m.linear(norm(x, 'final_norm'), 'lm_head');
  return c.logitScale === undefined ? logits : tf.mul(logits, c.logitScale);
}
