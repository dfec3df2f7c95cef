/**
 * A float64 reference forward pass read straight from Hugging Face tensors as stored (names, fused and
 * interleaved layouts, rotate-half RoPE), written from the semantics of transformers' modeling code for
 * each model_type, in plain loops. It shares nothing with the loaders: the canonical reordering of q/k
 * rows, the splitting of fused tensors and the forward passes are all checked against it.
 *
 * llama, mistral, qwen2, qwen3, phi3, olmo2, cohere: modeling_{type}.py; gpt_neox: modeling_gpt_neox.py.
 */
import type { HostTensor } from '../../server/src/engine/model/types';
import { geluErf, geluNew, layernorm, rmsnorm, silu, softmax } from './referenceForward';

type Vec = Float64Array;
type Json = Record<string, unknown>;

const num = (cfg: Json, key: string, fallback?: number): number => {
  const v = cfg[key] ?? fallback;
  if (typeof v !== 'number') throw new Error(`referenceHf: config has no ${key}`);
  return v;
};

class Tensors {
  constructor(private readonly map: Map<string, HostTensor>) {}
  get(name: string): HostTensor {
    const t = this.map.get(name);
    if (!t) throw new Error(`referenceHf: missing tensor ${name}`);
    return t;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
}

/** W·x (+ b) for W [out, in] as stored. */
function mv(w: HostTensor, x: Vec, b?: HostTensor): Vec {
  const [rows, cols] = w.shape;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = b ? b.data[r] : 0;
    for (let c = 0; c < cols; c++) s += w.data[r * cols + c] * x[c];
    out[r] = s;
  }
  return out;
}

const row = (t: HostTensor, i: number): Vec => Float64Array.from(t.data.subarray(i * t.shape[1], (i + 1) * t.shape[1]));
const add = (...vs: Vec[]): Vec => vs[0].map((_, i) => vs.reduce((s, v) => s + v[i], 0));
const noBias = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n) });

/** transformers' inverse frequencies, with rope_scaling 'linear' or 'llama3' (_compute_llama3_parameters). */
function invFreq(cfg: Json, dim: number, base: number): Vec {
  const inv = new Float64Array(dim / 2).map((_, k) => 1 / Math.pow(base, (2 * k) / dim));
  const rs = cfg.rope_scaling as Json | null | undefined;
  if (!rs) return inv;
  const type = rs.rope_type ?? rs.type;
  if (type === 'linear') return inv.map((f) => f / num(rs, 'factor'));
  if (type !== 'llama3') throw new Error(`referenceHf: rope_scaling ${String(type)}`);
  const factor = num(rs, 'factor');
  const low = num(rs, 'low_freq_factor');
  const high = num(rs, 'high_freq_factor');
  const old = num(rs, 'original_max_position_embeddings');
  const lowWavelen = old / low;
  const highWavelen = old / high;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    const scaled = wavelen > lowWavelen ? f / factor : f;
    const smooth = (old / wavelen - low) / (high - low);
    const medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
    return medium ? (1 - smooth) * (scaled / factor) + smooth * scaled : scaled;
  });
}

/**
 * RoPE on each head of `v` at position `pos`, on the first 2·inv.length dims: rotate_half pairs (k, k + rot/2);
 * interleaved (Cohere) pairs (2k, 2k+1).
 */
function rope(v: Vec, hd: number, pos: number, inv: Vec, interleaved: boolean): void {
  const half = inv.length;
  for (let h = 0; h < v.length; h += hd) {
    for (let k = 0; k < half; k++) {
      const [i, j] = interleaved ? [h + 2 * k, h + 2 * k + 1] : [h + k, h + k + half];
      const c = Math.cos(pos * inv[k]);
      const s = Math.sin(pos * inv[k]);
      const a = v[i];
      const b = v[j];
      v[i] = a * c - b * s;
      v[j] = b * c + a * s;
    }
  }
}

/** Causal grouped-query attention; with a window, position t sees only s > t − window (transformers' sliding mask). */
function attend(q: Vec[], k: Vec[], v: Vec[], H: number, Hkv: number, hd: number, window = Infinity): Vec[] {
  return q.map((qt, t) => {
    const o = new Float64Array(H * hd);
    for (let h = 0; h < H; h++) {
      const g = Math.floor(h / (H / Hkv)) * hd;
      const from = Math.max(0, t - window + 1);
      const scores = new Float64Array(t + 1 - from);
      for (let s = from; s <= t; s++) {
        let dot = 0;
        for (let i = 0; i < hd; i++) dot += qt[h * hd + i] * k[s][g + i];
        scores[s - from] = dot / Math.sqrt(hd);
      }
      const p = softmax(scores);
      for (let s = from; s <= t; s++) for (let i = 0; i < hd; i++) o[h * hd + i] += p[s - from] * v[s][g + i];
    }
    return o;
  });
}

/** RMSNorm of each head (Qwen3's q_norm / k_norm over head_dim). */
function perHeadRms(v: Vec, hd: number, w: HostTensor, eps: number): Vec {
  const out = new Float64Array(v.length);
  for (let h = 0; h < v.length; h += hd) out.set(rmsnorm(v.subarray(h, h + hd), w, eps), h);
  return out;
}

/** Logits (vocab_size each) at every position of `tokens` for the model described by config.json and its tensors. */
export function referenceHfLogits(cfg: Json, tensors: Map<string, HostTensor>, tokens: number[]): Vec[] {
  const w = new Tensors(tensors);
  return cfg.model_type === 'gpt_neox' ? neoxLogits(cfg, w, tokens) : llamaStyleLogits(cfg, w, tokens);
}

function llamaStyleLogits(cfg: Json, w: Tensors, tokens: number[]): Vec[] {
  const type = cfg.model_type as string;
  const d = num(cfg, 'hidden_size');
  const H = num(cfg, 'num_attention_heads');
  const Hkv = num(cfg, 'num_key_value_heads', H);
  const hd = num(cfg, 'head_dim', type === 'qwen3' ? 128 : d / H);
  const I = num(cfg, 'intermediate_size');
  const cohere = type === 'cohere';
  const eps = cohere ? num(cfg, 'layer_norm_eps', 1e-5) : num(cfg, 'rms_norm_eps');
  const rot = type === 'phi3' ? Math.floor(hd * num(cfg, 'partial_rotary_factor', 1)) : hd;
  const inv = invFreq(cfg, rot, num(cfg, 'rope_theta', 10000));
  const window = (type === 'mistral' || type === 'phi3') && typeof cfg.sliding_window === 'number' ? cfg.sliding_window : Infinity;
  const norm = (x: Vec, name: string): Vec => (cohere ? layernorm(x, w.get(name), noBias(x.length), eps) : rmsnorm(x, w.get(name), eps));
  const T = tokens.length;
  let x = tokens.map((t) => row(w.get('model.embed_tokens.weight'), t));
  for (let l = 0; l < num(cfg, 'num_hidden_layers'); l++) {
    const p = `model.layers.${l}.`;
    const attn = (hs: Vec[]): Vec[] => {
      const q: Vec[] = [];
      const k: Vec[] = [];
      const v: Vec[] = [];
      hs.forEach((h, t) => {
        let qt: Vec, kt: Vec, vt: Vec;
        if (type === 'phi3') {
          const qkv = mv(w.get(p + 'self_attn.qkv_proj.weight'), h);
          [qt, kt, vt] = [qkv.slice(0, H * hd), qkv.slice(H * hd, (H + Hkv) * hd), qkv.slice((H + Hkv) * hd)];
        } else {
          const bias = (n: string) => (type === 'qwen2' ? w.get(p + `self_attn.${n}.bias`) : undefined);
          qt = mv(w.get(p + 'self_attn.q_proj.weight'), h, bias('q_proj'));
          kt = mv(w.get(p + 'self_attn.k_proj.weight'), h, bias('k_proj'));
          vt = mv(w.get(p + 'self_attn.v_proj.weight'), h, bias('v_proj'));
        }
        if (type === 'qwen3') {
          qt = perHeadRms(qt, hd, w.get(p + 'self_attn.q_norm.weight'), eps);
          kt = perHeadRms(kt, hd, w.get(p + 'self_attn.k_norm.weight'), eps);
        } else if (type === 'olmo2') {
          qt = rmsnorm(qt, w.get(p + 'self_attn.q_norm.weight'), eps);
          kt = rmsnorm(kt, w.get(p + 'self_attn.k_norm.weight'), eps);
        }
        rope(qt, hd, t, inv, cohere);
        rope(kt, hd, t, inv, cohere);
        q.push(qt);
        k.push(kt);
        v.push(vt);
      });
      return attend(q, k, v, H, Hkv, hd, window).map((o) => mv(w.get(p + 'self_attn.o_proj.weight'), o));
    };
    const mlp = (h: Vec): Vec => {
      let gate: Vec, up: Vec;
      if (type === 'phi3') {
        const gu = mv(w.get(p + 'mlp.gate_up_proj.weight'), h);
        [gate, up] = [gu.slice(0, I), gu.slice(I)];
      } else {
        gate = mv(w.get(p + 'mlp.gate_proj.weight'), h);
        up = mv(w.get(p + 'mlp.up_proj.weight'), h);
      }
      return mv(
        w.get(p + 'mlp.down_proj.weight'),
        gate.map((g, i) => silu(g) * up[i]),
      );
    };
    if (type === 'olmo2') {
      const a = attn(x);
      x = x.map((xt, t) => add(xt, norm(a[t], p + 'post_attention_layernorm.weight')));
      x = x.map((xt) => add(xt, norm(mlp(xt), p + 'post_feedforward_layernorm.weight')));
    } else if (cohere) {
      const hs = x.map((xt) => norm(xt, p + 'input_layernorm.weight'));
      const a = attn(hs);
      x = x.map((xt, t) => add(xt, a[t], mlp(hs[t])));
    } else {
      const a = attn(x.map((xt) => norm(xt, p + 'input_layernorm.weight')));
      x = x.map((xt, t) => add(xt, a[t]));
      x = x.map((xt) => add(xt, mlp(norm(xt, p + 'post_attention_layernorm.weight'))));
    }
  }
  const tied = (cfg.tie_word_embeddings ?? cohere) === true;
  const head = w.get(tied ? 'model.embed_tokens.weight' : 'lm_head.weight');
  const scale = cohere ? num(cfg, 'logit_scale', 0.0625) : 1;
  if (T === 0) return [];
  return x.map((xt) => mv(head, norm(xt, 'model.norm.weight')).map((z) => z * scale));
}

function neoxLogits(cfg: Json, w: Tensors, tokens: number[]): Vec[] {
  const d = num(cfg, 'hidden_size');
  const H = num(cfg, 'num_attention_heads');
  const hd = d / H;
  const eps = num(cfg, 'layer_norm_eps', 1e-5);
  const rot = Math.floor(hd * num(cfg, 'rotary_pct', 0.25));
  const inv = invFreq(cfg, rot, num(cfg, 'rope_theta', num(cfg, 'rotary_emb_base', 10000)));
  const act = cfg.hidden_act === 'gelu_new' ? geluNew : geluErf;
  const parallel = cfg.use_parallel_residual !== false;
  const ln = (x: Vec, name: string) => layernorm(x, w.get(name + '.weight'), w.get(name + '.bias'), eps);
  let x = tokens.map((t) => row(w.get('gpt_neox.embed_in.weight'), t));
  for (let l = 0; l < num(cfg, 'num_hidden_layers'); l++) {
    const p = `gpt_neox.layers.${l}.`;
    const q: Vec[] = [];
    const k: Vec[] = [];
    const v: Vec[] = [];
    x.forEach((xt, t) => {
      // query_key_value viewed as [heads, 3·head_size]: each head's q, k, v back to back.
      const qkv = mv(w.get(p + 'attention.query_key_value.weight'), ln(xt, p + 'input_layernorm'), w.get(p + 'attention.query_key_value.bias'));
      const part = (j: number) => {
        const out = new Float64Array(d);
        for (let h = 0; h < H; h++) out.set(qkv.subarray(h * 3 * hd + j * hd, h * 3 * hd + (j + 1) * hd), h * hd);
        return out;
      };
      const [qt, kt, vt] = [part(0), part(1), part(2)];
      rope(qt, hd, t, inv, false);
      rope(kt, hd, t, inv, false);
      q.push(qt);
      k.push(kt);
      v.push(vt);
    });
    const a = attend(q, k, v, H, H, hd).map((o) => mv(w.get(p + 'attention.dense.weight'), o, w.get(p + 'attention.dense.bias')));
    const mlp = (h: Vec) =>
      mv(
        w.get(p + 'mlp.dense_4h_to_h.weight'),
        mv(w.get(p + 'mlp.dense_h_to_4h.weight'), h, w.get(p + 'mlp.dense_h_to_4h.bias')).map(act),
        w.get(p + 'mlp.dense_4h_to_h.bias'),
      );
    if (parallel) {
      x = x.map((xt, t) => add(xt, a[t], mlp(ln(xt, p + 'post_attention_layernorm'))));
    } else {
      x = x.map((xt, t) => add(xt, a[t]));
      x = x.map((xt) => add(xt, mlp(ln(xt, p + 'post_attention_layernorm'))));
    }
  }
  const head = w.get(cfg.tie_word_embeddings === true ? 'gpt_neox.embed_in.weight' : 'embed_out.weight');
  return x.map((xt) => mv(head, ln(xt, 'gpt_neox.final_layer_norm')));
}
