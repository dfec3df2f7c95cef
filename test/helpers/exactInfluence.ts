/**
 * Exact influence scores for one tracked module of a tiny model, independent of the tfjs engine:
 *
 *   I(q, d) = ∇f(q)ᵀ (G + λI)⁻¹ ∇L(d),
 *
 * with θ the module's weight alone (plus its bias column for GPT-2, as docs/EKFAC.md treats a bias),
 * flattened [out, in(+1)] row-major. Everything is float64 and built on `referenceLogits`
 * (test/helpers/referenceForward.ts):
 *
 * - J_t = ∂logits_t/∂θ [V × P] by central finite differences, perturbing one stored weight at a time.
 *   Weights are float32, so the step actually taken is the difference of the two stored float32
 *   values (not the nominal 2h): the quotient is then exact up to O(h²) truncation and the
 *   float64 round-off of the logits.
 * - ∇ of a summed next-token cross-entropy: Σ_t J_tᵀ (softmax(logits_t) − e_{y_{t+1}}).
 *   Documents: every position t = 0..n−2; queries: only targets j ≥ promptLength (position j−1).
 * - G, per document then averaged over documents (the normalisation EK-FAC's Λ estimates, docs/EKFAC.md):
 *   'gauss-newton' (default; = the true Fisher that sampled labels estimate):
 *       G = (1/N_docs) Σ_d Σ_{t=0}^{n−2} J_tᵀ (diag(p_t) − p_t p_tᵀ) J_t;
 *   'empirical': G = (1/N_docs) Σ_d ∇L(d) ∇L(d)ᵀ (what the engine's `fisher: 'empirical'` estimates).
 * - (G + λI) x = ∇L(d) by a float64 Cholesky solve.
 */
import type { Checkpoint, HostTensor } from '../../server/src/engine/model/types';
import { referenceLogits, softmax } from './referenceForward';

/** The parameters θ of one tracked module, laid out [out, in(+1)]: the bias (if any) is the last column. */
export interface ModuleParameters {
  weight: string;
  bias?: string;
  outDim: number;
  /** Columns of the weight, without the bias column. */
  inDim: number;
  /** outDim × (inDim + (bias ? 1 : 0)). */
  size: number;
}

const LLAMA_MODULES: Record<string, string> = { gate: 'w1', up: 'w3', down: 'w2' };
const GPT2_MODULES: Record<string, string> = { c_fc: 'fc', c_proj: 'fc_proj' };

/** 'layers.0.mlp.down' → llama weight 'layers.0.w2'; 'layers.0.mlp.c_fc' → gpt2 'layers.0.fc.weight' + '.bias'. */
export function moduleParameters(ckpt: Checkpoint, module: string): ModuleParameters {
  const m = /^layers\.(\d+)\.mlp\.(\w+)$/.exec(module);
  const arch = ckpt.config.architecture;
  const table = arch === 'llama' ? LLAMA_MODULES : GPT2_MODULES;
  const short = m ? table[m[2]] : undefined;
  if (!m || !short) throw new Error(`exactInfluence: unknown ${arch} module "${module}"`);
  const weight = arch === 'llama' ? `layers.${m[1]}.${short}` : `layers.${m[1]}.${short}.weight`;
  const bias = arch === 'llama' ? undefined : `layers.${m[1]}.${short}.bias`;
  const w = ckpt.weights.get(weight);
  if (!w || w.shape.length !== 2) throw new Error(`exactInfluence: checkpoint has no 2-D weight ${weight}`);
  const [outDim, inDim] = w.shape;
  if (bias !== undefined) {
    const b = ckpt.weights.get(bias);
    if (!b || b.data.length !== outDim) throw new Error(`exactInfluence: checkpoint has no bias ${bias} [${outDim}]`);
  }
  return { weight, bias, outDim, inDim, size: outDim * (inDim + (bias ? 1 : 0)) };
}

export interface JacobianOptions {
  /** Relative finite-difference step: h = step · max(1, |θ_k|). Default 1e-4. */
  step?: number;
}

export interface SequenceJacobian {
  /** Unperturbed logits, [T][V]. */
  logits: Float64Array[];
  /** ∂logits_t/∂θ, [T][V × P] row-major (row v is ∂logits_t[v]/∂θ). */
  J: Float64Array[];
  vocab: number;
  params: number;
}

/**
 * ∂logits_t/∂θ for every position of `tokens` by central differences on referenceLogits. The
 * checkpoint is not modified: the module's tensors are copied and perturbed in a shallow clone.
 */
export function logitJacobians(ckpt: Checkpoint, module: string, tokens: number[], opts: JacobianOptions = {}): SequenceJacobian {
  const mp = moduleParameters(ckpt, module);
  const rel = opts.step ?? 1e-4;
  const V = ckpt.config.vocabSize;
  const P = mp.size;
  const T = tokens.length;
  const cols = mp.inDim + (mp.bias ? 1 : 0);
  const copy = (t: HostTensor): HostTensor => ({ shape: [...t.shape], data: Float32Array.from(t.data) });
  const w = copy(ckpt.weights.get(mp.weight)!);
  const b = mp.bias ? copy(ckpt.weights.get(mp.bias)!) : undefined;
  const weights = new Map(ckpt.weights);
  weights.set(mp.weight, w);
  if (b && mp.bias) weights.set(mp.bias, b);
  const clone: Checkpoint = { ...ckpt, weights };

  const logits = referenceLogits(clone, tokens);
  const J = Array.from({ length: T }, () => new Float64Array(V * P));
  for (let k = 0; k < P; k++) {
    const o = Math.floor(k / cols);
    const i = k % cols;
    const [data, idx] = b && i === mp.inDim ? [b.data, o] : [w.data, o * mp.inDim + i];
    const x = data[idx];
    const h = rel * Math.max(1, Math.abs(x));
    data[idx] = x + h;
    const hi = data[idx]; // as stored (float32)
    const plus = referenceLogits(clone, tokens);
    data[idx] = x - h;
    const lo = data[idx];
    const minus = referenceLogits(clone, tokens);
    data[idx] = x;
    const inv = 1 / (hi - lo);
    for (let t = 0; t < T; t++) {
      const Jt = J[t];
      const pt = plus[t];
      const mt = minus[t];
      for (let v = 0; v < V; v++) Jt[v * P + k] = (pt[v] - mt[v]) * inv;
    }
  }
  return { logits, J, vocab: V, params: P };
}

/**
 * ∇θ of Σ_{j ≥ from, j ≥ 1} CE(logits_{j−1}, tokens_j), i.e. Σ J_{j−1}ᵀ (p_{j−1} − e_{tokens_j}).
 * `from` = 1 gives a document's loss; `from` = promptLength a query's completion loss.
 */
export function lossGradient(jac: SequenceJacobian, tokens: number[], from = 1): Float64Array {
  const { vocab: V, params: P } = jac;
  const g = new Float64Array(P);
  for (let j = Math.max(1, from); j < tokens.length; j++) {
    const p = softmax(jac.logits[j - 1]);
    p[tokens[j]] -= 1;
    const Jt = jac.J[j - 1];
    for (let v = 0; v < V; v++) {
      const c = p[v];
      if (c === 0) continue;
      const off = v * P;
      for (let k = 0; k < P; k++) g[k] += c * Jt[off + k];
    }
  }
  return g;
}

/**
 * Adds Σ_{t=0}^{T−2} J_tᵀ (diag(p_t) − p_t p_tᵀ) J_t, times `scale`, into `out` [P × P]
 * (the Gauss-Newton matrix of one sequence's summed next-token loss).
 */
export function addGaussNewton(out: Float64Array, jac: SequenceJacobian, scale = 1): void {
  const { vocab: V, params: P } = jac;
  const u = new Float64Array(P);
  for (let t = 0; t + 1 < jac.logits.length; t++) {
    const p = softmax(jac.logits[t]);
    const Jt = jac.J[t];
    // Σ_v p_v j_v j_vᵀ − (Σ_v p_v j_v)(Σ_v p_v j_v)ᵀ, j_v = row v of J_t.
    u.fill(0);
    for (let v = 0; v < V; v++) {
      const pv = p[v];
      const off = v * P;
      for (let a = 0; a < P; a++) {
        const x = pv * Jt[off + a];
        u[a] += x;
        if (x === 0) continue;
        const row = a * P;
        for (let c = 0; c <= a; c++) out[row + c] += scale * x * Jt[off + c];
      }
    }
    for (let a = 0; a < P; a++) {
      const row = a * P;
      for (let c = 0; c <= a; c++) out[row + c] -= scale * u[a] * u[c];
    }
  }
  // Only the lower triangle was accumulated above; mirror it (idempotent on a symmetric `out`).
  for (let a = 0; a < P; a++) for (let c = 0; c < a; c++) out[c * P + a] = out[a * P + c];
}

export type ExactFisher = 'gauss-newton' | 'empirical';

export interface ExactInput {
  checkpoint: Checkpoint;
  /** Tracked module name, e.g. 'layers.0.mlp.down' (→ llama weight 'layers.0.w2'). */
  module: string;
  /** Token sequences, BOS included. */
  documents: number[][];
  queries?: { tokens: number[]; promptLength: number }[];
  fisher?: ExactFisher;
  jacobian?: JacobianOptions;
}

export interface ExactGaussNewton {
  /** θ's size. */
  params: number;
  /** The (undamped) curvature G [P × P], averaged over documents. */
  G: Float64Array;
  /** ∇L(d) per document (actual next tokens, all positions). */
  documentGradients: Float64Array[];
  /** ∇f(q) per query (completion positions only). */
  queryGradients: Float64Array[];
}

/**
 * The Gauss-Newton G (or, with `fisher: 'empirical'`, the empirical Fisher) and the exact gradients
 * of every document and query (see the file comment).
 */
export function exactGaussNewton(o: ExactInput): ExactGaussNewton {
  const P = moduleParameters(o.checkpoint, o.module).size;
  const N = o.documents.length;
  if (N === 0) throw new Error('exactGaussNewton: no documents');
  const G = new Float64Array(P * P);
  const documentGradients = o.documents.map((tokens) => {
    const jac = logitJacobians(o.checkpoint, o.module, tokens, o.jacobian);
    if ((o.fisher ?? 'gauss-newton') === 'gauss-newton') addGaussNewton(G, jac, 1 / N);
    return lossGradient(jac, tokens, 1);
  });
  const queryGradients = (o.queries ?? []).map((q) => {
    if (q.promptLength < 1 || q.promptLength >= q.tokens.length) {
      throw new Error(`exactGaussNewton: promptLength ${q.promptLength} leaves no completion in ${q.tokens.length} tokens`);
    }
    return lossGradient(logitJacobians(o.checkpoint, o.module, q.tokens, o.jacobian), q.tokens, q.promptLength);
  });
  const out = { params: P, G, documentGradients, queryGradients };
  return o.fisher === 'empirical' ? withEmpiricalFisher(out) : out;
}

/** The same gradients with G replaced by the empirical Fisher (1/N_docs) Σ_d ∇L(d) ∇L(d)ᵀ. */
export function withEmpiricalFisher(gn: ExactGaussNewton): ExactGaussNewton {
  const P = gn.params;
  const N = gn.documentGradients.length;
  const G = new Float64Array(P * P);
  for (const g of gn.documentGradients) {
    for (let a = 0; a < P; a++) {
      const x = g[a] / N;
      for (let c = 0; c < P; c++) G[a * P + c] += x * g[c];
    }
  }
  return { ...gn, G };
}

/** Lower-triangular L with A = L Lᵀ (A symmetric positive definite [n × n], row-major); throws otherwise. */
export function cholesky(A: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j];
      for (let k = 0; k < j; k++) s -= L[i * n + k] * L[j * n + k];
      if (i === j) {
        if (!(s > 0)) throw new Error(`cholesky: matrix not positive definite at pivot ${i} (${s})`);
        L[i * n + i] = Math.sqrt(s);
      } else {
        L[i * n + j] = s / L[j * n + j];
      }
    }
  }
  return L;
}

/** x with L Lᵀ x = b (forward then back substitution). */
export function choleskySolve(L: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

/** I(q, d) = ∇f(q)ᵀ (G + λI)⁻¹ ∇L(d) from precomputed curvature and gradients, [Q × D] row-major. */
export function influenceFrom(gn: ExactGaussNewton, damping: number): Float64Array {
  const P = gn.params;
  const A = Float64Array.from(gn.G);
  for (let i = 0; i < P; i++) A[i * P + i] += damping;
  const L = cholesky(A, P);
  const D = gn.documentGradients.length;
  const Q = gn.queryGradients.length;
  const out = new Float64Array(Q * D);
  gn.documentGradients.forEach((gd, d) => {
    const x = choleskySolve(L, gd, P);
    gn.queryGradients.forEach((gq, q) => {
      let s = 0;
      for (let k = 0; k < P; k++) s += gq[k] * x[k];
      out[q * D + d] = s;
    });
  });
  return out;
}

/** Exact influence scores [Q × D] for one module (see the file comment). */
export function exactInfluence(o: ExactInput & { queries: { tokens: number[]; promptLength: number }[]; damping: number }): Float64Array {
  return influenceFrom(exactGaussNewton(o), o.damping);
}
