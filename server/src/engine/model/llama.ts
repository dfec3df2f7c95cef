/** Llama forward pass: RMSNorm, RoPE on consecutive pairs (llama2.c), grouped-query attention, SwiGLU. */
import { tf, type Tensor2D } from '../tf';
import type { ModelConfig } from './types';
import type { ForwardHooks, TfModel, TrackedModule } from './tfModel';
import { attention, linear, rmsNorm, silu } from './ops';
import type { KvCache } from './kvCache';

export const LLAMA_LINEARS = ['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3', 'lm_head'];

export function llamaTrackedModules(c: ModelConfig): TrackedModule[] {
  const out: TrackedModule[] = [];
  for (let i = 0; i < c.nLayers; i++) {
    out.push({ name: `layers.${i}.mlp.gate`, weight: `layers.${i}.w1`, inDim: c.dim, outDim: c.hiddenDim });
    out.push({ name: `layers.${i}.mlp.up`, weight: `layers.${i}.w3`, inDim: c.dim, outDim: c.hiddenDim });
    out.push({ name: `layers.${i}.mlp.down`, weight: `layers.${i}.w2`, inDim: c.hiddenDim, outDim: c.dim });
  }
  return out;
}

/**
 * RoPE as x·C + rot(x)·S, with rot(x) = x·R pairing (x0, x1) → (−x1, x0): one small matmul instead of
 * split/concat, whose gradients are slow on wasm. Cached on the model: the backward pass uses R too.
 */
function rope(m: TfModel, L: number, hd: number, theta: number, offset: number) {
  const n = m.config.maxSeqLen;
  const table = (fn: (a: number) => number) => () => {
    const t = new Float32Array(n * hd);
    for (let p = 0; p < n; p++) {
      for (let i = 0; i < hd; i += 2) t[p * hd + i] = t[p * hd + i + 1] = fn(p / Math.pow(theta, i / hd));
    }
    return tf.tensor4d(t, [1, n, 1, hd]);
  };
  const rotation = (transposed: boolean) => () => {
    const r = new Float32Array(hd * hd);
    for (let j = 0; j < hd; j += 2) {
      r[(j + 1) * hd + j] = transposed ? 1 : -1;
      r[j * hd + j + 1] = transposed ? -1 : 1;
    }
    return tf.tensor2d(r, [hd, hd]);
  };
  return {
    // Sliced per call: only the custom-gradient closures (R, RT) must outlive the forward pass.
    cos: tf.slice(m.constant('rope.cos', table(Math.cos)), [0, offset, 0, 0], [1, L, 1, hd]),
    sin: tf.slice(m.constant('rope.sin', table(Math.sin)), [0, offset, 0, 0], [1, L, 1, hd]),
    R: m.constant('rope.R', rotation(false)),
    RT: m.constant('rope.RT', rotation(true)),
  };
}

export function llamaForward(m: TfModel, ids: Tensor2D, hooks?: ForwardHooks, cache?: KvCache): Tensor2D {
  const c = m.config;
  const [B, L] = ids.shape;
  const hd = c.dim / c.nHeads;
  const offset = cache?.length ?? 0;
  const r = rope(m, L, hd, c.ropeTheta, offset);
  const applyRope = (x: Tensor2D, heads: number) => {
    const x4 = tf.reshape(x, [B, L, heads, hd]);
    const rotated = tf.reshape(linear(tf.reshape(x, [B * L * heads, hd]) as Tensor2D, r.R, r.RT), [B, L, heads, hd]);
    return tf.add(tf.mul(x4, r.cos), tf.mul(rotated, r.sin));
  };
  const modules = m.allTracked;
  const rep = c.nHeads / c.nKvHeads;
  const mask = m.causalMask(L, rep, offset);
  let x = m.embed('embed', ids);
  for (let i = 0; i < c.nLayers; i++) {
    const p = `layers.${i}.`;
    const h = rmsNorm(x, m.t(p + 'attn_norm'), c.normEps);
    const q = applyRope(m.linear(h, p + 'wq'), c.nHeads);
    const kNew = applyRope(m.linear(h, p + 'wk'), c.nKvHeads);
    const vNew = tf.reshape(m.linear(h, p + 'wv'), [B, L, c.nKvHeads, hd]);
    const { k, v } = cache ? cache.extend(i, kNew, vNew) : { k: kNew, v: vNew };
    x = tf.add(x, m.linear(attention(q, k, v, c.nHeads, c.nKvHeads, mask), p + 'wo'));
    const h2 = rmsNorm(x, m.t(p + 'mlp_norm'), c.normEps);
    const [gate, up, down] = modules.slice(3 * i, 3 * i + 3);
    const inner = tf.mul(silu(m.trackedLinear(gate, h2, hooks)), m.trackedLinear(up, h2, hooks)) as Tensor2D;
    x = tf.add(x, m.trackedLinear(down, inner, hooks));
  }
  return m.linear(rmsNorm(x, m.t('final_norm'), c.normEps), 'lm_head');
}
