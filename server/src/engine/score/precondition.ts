/**
 * Damping and low rank for preconditioned query gradients (docs/EKFAC.md): λ = 0.1 × mean(Λ) unless
 * given; each strategy's preconditioning itself is in ekfac/strategies.ts.
 */
import { truncatedSvd } from '../linalg/svd';
import type { ModuleFactors } from '../ekfac/types';
import { InfluenceLensError } from '../errors';

export const DEFAULT_DAMPING_FACTOR = 0.1;

/**
 * The largest damping accepted. Scores are float32: with λ far above it the preconditioned query gradient
 * G ⊘ (Λ + λ) ≈ G / λ falls below what float32 holds and every score becomes 0 (--damping 1e300 did so
 * silently). Nothing is lost by the bound: once λ dwarfs Λ, every ranking is that of the plain gradient
 * dot product, whatever λ.
 */
export const MAX_DAMPING = 1e20;

/** Refuses a damping that is negative, not finite, or so large that every score would underflow to 0. */
export function checkDamping(damping: number, option = '--damping'): number {
  if (!Number.isFinite(damping) || damping < 0) throw new InfluenceLensError('USAGE', `${option} must be a non-negative number, got ${damping}`);
  if (damping > MAX_DAMPING) {
    throw new InfluenceLensError(
      'USAGE',
      `${option} ${damping} is above 1e20: the query gradient divided by it underflows float32, so every score would be 0; ` +
        `choose a smaller damping (once λ is far above the eigenvalues Λ, rankings no longer change with it)`,
    );
  }
  return damping;
}

/** λ for one module: a number, or 0.1 × mean(Λ) (0 for identity, which has no Λ). */
export function dampingFor(f: ModuleFactors, damping: number | undefined): number {
  if (damping !== undefined) return checkDamping(damping);
  if (!f.lambda) return 0;
  let sum = 0;
  for (const x of f.lambda) sum += x;
  return (DEFAULT_DAMPING_FACTOR * sum) / f.lambda.length;
}

/** Rank-r factors P ≈ L Rᵀ (L = U Σ [out×r], R = V [in×r]); r is clipped to min(out, in). */
export function lowRank(P: Float64Array, outDim: number, inDim: number, rank: number): { L: Float64Array; R: Float64Array; rank: number } {
  const { u, s, v } = truncatedSvd(P, outDim, inDim, rank);
  const k = s.length;
  const L = new Float64Array(outDim * k);
  for (let o = 0; o < outDim; o++) for (let j = 0; j < k; j++) L[o * k + j] = u[o * k + j] * s[j];
  return { L, R: v, rank: k };
}
