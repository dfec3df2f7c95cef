/**
 * Preconditioned query gradients, in float64 on the host (docs/EKFAC.md):
 * P_q = Q_S [(Q_Sᵀ G_q Q_A) ⊘ (Λ + λ)] Q_Aᵀ, with damping λ = 0.1 × mean(Λ) unless given.
 */
import { rotate, unrotate } from '../linalg/matrix';
import { truncatedSvd } from '../linalg/svd';
import type { ModuleFactors, Strategy } from '../ekfac/types';

export const DEFAULT_DAMPING_FACTOR = 0.1;

/** λ for one module: a number, or 0.1 × mean(Λ) (0 for identity, which has no Λ). */
export function dampingFor(f: ModuleFactors, damping: number | undefined): number {
  if (damping !== undefined) return damping;
  if (!f.lambda) return 0;
  let sum = 0;
  for (const x of f.lambda) sum += x;
  return (DEFAULT_DAMPING_FACTOR * sum) / f.lambda.length;
}

export function precondition(G: Float64Array, f: ModuleFactors, strategy: Strategy, lambda: number): Float64Array {
  if (strategy === 'identity' || !f.lambda) return G;
  if (strategy === 'diagonal' || !f.eigen) return G.map((g, i) => g / (f.lambda![i] + lambda));
  const { QA, QS, outDim, inDim } = f.eigen;
  const r = rotate(QS, G, QA, outDim, inDim);
  for (let i = 0; i < r.length; i++) r[i] /= f.lambda[i] + lambda;
  return unrotate(QS, r, QA, outDim, inDim);
}

/** 1/(Λ+λ) for self-influence (all ones for identity). */
export function inverseDamped(f: ModuleFactors, strategy: Strategy, lambda: number, n: number): Float64Array {
  if (strategy === 'identity' || !f.lambda) return new Float64Array(n).fill(1);
  return f.lambda.map((x) => 1 / (x + lambda));
}

/** Rank-r factors P ≈ L Rᵀ (L = U Σ [out×r], R = V [in×r]); r is clipped to min(out, in). */
export function lowRank(P: Float64Array, outDim: number, inDim: number, rank: number): { L: Float64Array; R: Float64Array; rank: number } {
  const { u, s, v } = truncatedSvd(P, outDim, inDim, rank);
  const k = s.length;
  const L = new Float64Array(outDim * k);
  for (let o = 0; o < outDim; o++) for (let j = 0; j < k; j++) L[o * k + j] = u[o * k + j] * s[j];
  return { L, R: v, rank: k };
}
