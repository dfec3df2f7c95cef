/**
 * What the compute threads need to sketch a module's gradients (docs/INDEX.md, "When Λ is not known yet"):
 * the document side uses only the eigenbases (known before the Λ pass), the query side applies EK-FAC's
 * 1 / (Λ + λ) exactly.
 *
 * A Kronecker sketch of a gradient G is W_Sᵀ G W_A with W_S = Q_S diag(u_S) P_S and W_A = Q_A diag(u_A) P_A,
 * computed from a document's tokens as (g W_S)ᵀ (a W_A). A query's is P_Sᵀ (R_q ⊙ V) P_A with R_q = Q_Sᵀ G_q Q_A
 * and V = 1 / ((Λ + λ) ⊙ u_S u_Aᵀ), so that E[⟨query, document⟩] = Σ R_q R_d / (Λ + λ) for any weights u:
 * - eigen: P selects the top k_S × k_A eigenvectors, u = 1: exact on that subspace;
 * - kron: P_S, P_A are seeded Rademacher matrices (±1/√k, regenerated from the seed, never stored), u the
 *   K-FAC whitening (e + a·mean e)^-½ from the eigenvalues, which keeps the estimate's variance near that of
 *   whitening by (Λ + λ)^-½, unknown until the Λ pass ends.
 * A count sketch hashes every entry of U ⊙ R_d (U the damped K-FAC whitening) into one of K signed buckets.
 */
import type { ModuleFactors } from '../ekfac/types';
import { hashInts, Rng } from '../util/random';
import { BLOCK, type IndexModule, type SketchSettings } from './types';

/** The K-FAC whitening's damping, relative to each factor's mean eigenvalue (kron). */
export const KRON_DAMPING = 0.3;
/** The count sketch's whitening damping, relative to the mean of e_S e_Aᵀ (as score's default λ is of Λ). */
const COUNT_DAMPING = 0.1;

/** A module's sketch on a compute thread: from tokens (eigen, kron), or from the full rotation (count, blocks). */
export type SketchBasisMessage = KronBasisMessage | RotationBasisMessage;

export interface KronBasisMessage {
  kind: 'kron';
  name: string;
  outDim: number;
  inDim: number;
  kS: number;
  kA: number;
  /** [out × kS] and [in × kA]: a document's sketch is (g WS)ᵀ (a WA), kS × kA row-major. */
  WS: Float32Array;
  WA: Float32Array;
  /** Only where queries are sketched: R̂ᵀ = (A QA)ᵀ (G QS) [qA × qS], times VT, then PAT · ( ) · PS when projecting. */
  query?: { qS: number; qA: number; QS: Float32Array; QA: Float32Array; VT: Float32Array; PS?: Float32Array; PAT?: Float32Array };
}

export interface RotationBasisMessage {
  kind: 'rotate';
  name: string;
  outDim: number;
  inDim: number;
  QA: Float32Array;
  QS: Float32Array;
  /** Per entry of the transposed rotation (column i·out + o), padded to `width`: blocks, how much a unit of R_d counts; count, U. */
  weights: Float32Array;
  width: number;
  /** blocks: the module's blocks and those a document keeps. */
  blocks?: number;
  kept?: number;
  /** count: where entries go (countBucket). */
  count?: { seed: number; module: number; dims: number };
}

const f32 = (x: ArrayLike<number>) => Float32Array.from(x);

/** ±1/√cols, seeded by the module and side: the same matrix on every thread and at every build. */
export function rademacher(seed: number, key: string, rows: number, cols: number): Float64Array {
  const rng = new Rng(seed, hashInts(Array.from(key, (c) => c.charCodeAt(0))));
  const v = 1 / Math.sqrt(cols);
  return Float64Array.from({ length: rows * cols }, () => (rng.next() < 0.5 ? -v : v));
}

/** Columns [0, k) of a row-major n × n matrix. */
function leading(Q: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) for (let c = 0; c < k; c++) out[r * k + c] = Q[r * n + c];
  return out;
}

/** Q diag(u) P for Q [n × n], P [n × k]. */
function weighedProjection(Q: Float64Array, u: Float64Array, P: Float64Array, n: number, k: number): Float64Array {
  const out = new Float64Array(n * k);
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < n; j++) {
      const q = Q[r * n + j] * u[j];
      if (q === 0) continue;
      for (let c = 0; c < k; c++) out[r * k + c] += q * P[j * k + c];
    }
  }
  return out;
}

/** (e + a · mean e)^-½, the K-FAC whitening of one factor. */
function whitening(e: Float64Array, a: number): Float64Array {
  let mean = 0;
  for (const x of e) mean += Math.max(x, 0) / e.length;
  return e.map((x) => 1 / Math.sqrt(Math.max(x, 0) + a * mean + 1e-30));
}

/** The document-side weights u_S, u_A of a kron sketch (ones for eigen). */
function kronWeights(f: ModuleFactors, kind: 'eigen' | 'kron'): { uS: Float64Array; uA: Float64Array } {
  const e = f.eigen!;
  if (kind === 'eigen') return { uS: new Float64Array(e.outDim).fill(1), uA: new Float64Array(e.inDim).fill(1) };
  return { uS: whitening(e.eS, KRON_DAMPING), uA: whitening(e.eA, KRON_DAMPING) };
}

/**
 * A module's basis for a compute thread. `damping` (λ) is given where queries will be sketched (Λ must then
 * be loaded); without it the message serves document rows only, which need no Λ for dense sketches.
 */
export function sketchBasis(f: ModuleFactors, m: IndexModule, index: number, s: SketchSettings, damping?: number): SketchBasisMessage {
  const e = f.eigen;
  if (!e) throw new Error(`no eigenbasis for module ${m.name}`);
  const { outDim, inDim } = e;
  const base = { name: m.name, outDim, inDim };
  if (s.kind === 'eigen' || s.kind === 'kron') {
    const kS = m.kS!;
    const kA = m.kA!;
    const { uS, uA } = kronWeights(f, s.kind);
    const PS = s.kind === 'kron' ? rademacher(s.seed, `${m.name}:S`, outDim, kS) : undefined;
    const PA = s.kind === 'kron' ? rademacher(s.seed, `${m.name}:A`, inDim, kA) : undefined;
    const WS = PS ? weighedProjection(e.QS, uS, PS, outDim, kS) : leading(e.QS, outDim, kS);
    const WA = PA ? weighedProjection(e.QA, uA, PA, inDim, kA) : leading(e.QA, inDim, kA);
    const msg: KronBasisMessage = { kind: 'kron', ...base, kS, kA, WS: f32(WS), WA: f32(WA) };
    if (damping !== undefined) {
      // The query sees the rotation on the subspace (eigen) or everywhere (kron), divided by (Λ + λ) u_S u_Aᵀ.
      const qS = PS ? outDim : kS;
      const qA = PA ? inDim : kA;
      const VT = new Float32Array(qA * qS);
      for (let a = 0; a < qA; a++) for (let o = 0; o < qS; o++) VT[a * qS + o] = 1 / ((lambdaAt(f, o, a) + damping) * uS[o] * uA[a]);
      msg.query = {
        qS,
        qA,
        QS: f32(PS ? e.QS : WS),
        QA: f32(PA ? e.QA : WA),
        VT,
        PS: PS && f32(PS),
        PAT: PA && f32(transpose(PA, inDim, kA)),
      };
    }
    return msg;
  }
  const width = s.kind === 'blocks' ? m.blocks! * BLOCK : outDim * inDim;
  const weights = new Float32Array(width);
  if (s.kind === 'blocks') {
    // How much a unit of R_d counts: a query's R_q is typically √Λ there, and EK-FAC divides by Λ + λ.
    const l = s.damping![m.name];
    for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) weights[i * outDim + o] = Math.sqrt(lambdaAt(f, o, i)) / (lambdaAt(f, o, i) + l);
  } else {
    const K = kfacSpectrum(f);
    for (let o = 0; o < outDim; o++) for (let i = 0; i < inDim; i++) weights[i * outDim + o] = 1 / Math.sqrt(K.at(o, i) + COUNT_DAMPING * K.mean);
  }
  return {
    kind: 'rotate',
    ...base,
    QA: f32(e.QA),
    QS: f32(e.QS),
    weights,
    width,
    ...(s.kind === 'blocks' ? { blocks: m.blocks, kept: m.kept } : { count: { seed: s.seed, module: index, dims: Number(s.size) } }),
  };
}

/** Λ[o, i] (≥ 0). */
const lambdaAt = (f: ModuleFactors, o: number, i: number) => Math.max(f.lambda![o * f.inDim + i], 0);

/** e_S e_Aᵀ, the K-FAC eigenvalues, and their mean. */
function kfacSpectrum(f: ModuleFactors): { at: (o: number, i: number) => number; mean: number } {
  const { eS, eA } = f.eigen!;
  const sum = (e: Float64Array) => e.reduce((a, x) => a + Math.max(x, 0), 0);
  return { at: (o, i) => Math.max(eS[o], 0) * Math.max(eA[i], 0), mean: (sum(eS) * sum(eA)) / (eS.length * eA.length) };
}

function transpose(M: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = M[r * cols + c];
  return out;
}

/**
 * The count sketch's bucket and sign of entry `p` (transposed order) of module `module`: a 32-bit hash of
 * (seed, module, p), bucket in its high bits' range, sign from its lowest bit.
 */
export function countBucket(seed: number, module: number, p: number, dims: number): { bucket: number; sign: number } {
  let h = Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(module + 1, 0xc2b2ae35) ^ Math.imul(p + 1, 0x27d4eb2f);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  const u = h >>> 0;
  return { bucket: Math.floor(((u >>> 1) / 2 ** 31) * dims), sign: u & 1 ? -1 : 1 };
}
