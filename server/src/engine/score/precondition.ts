/**
 * Damping and low rank for preconditioned query gradients (docs/EKFAC.md): λ = 0.1 × mean(Λ) unless
 * given; each strategy's preconditioning itself is in ekfac/strategies.ts (float64, the reference), and
 * runs on the compute threads through preconditionOnThreads.
 */
import { truncatedSvd } from '../linalg/svd';
import type { ModuleFactors, Strategy } from '../ekfac/types';
import { inverseDamped, STRATEGY_SPECS } from '../ekfac/strategies';
import { InfluenceLensError } from '../errors';
import type { Priority } from '../worker/taskPool';
import type { ScorePool } from './tasks';
import type { SelfPreconditioner } from './types';

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

/** What the threads need to precondition a module's gradients (or score self-influence): eigenbases when the strategy rotates, 1/(Λ+λ). */
export function modulePreconditioner(f: ModuleFactors, strategy: Strategy, lambda: number, outDim: number, inDim: number): SelfPreconditioner {
  const rotate = STRATEGY_SPECS[strategy].eigenbases && f.eigen !== undefined;
  return {
    name: f.name,
    outDim,
    inDim,
    QA: rotate ? Float32Array.from(f.eigen!.QA) : undefined,
    QS: rotate ? Float32Array.from(f.eigen!.QS) : undefined,
    inverseDamped: Float32Array.from(inverseDamped(f, strategy, lambda, outDim * inDim)),
  };
}

/**
 * Each query's preconditioned gradient of one module, P = Q_S [(Q_Sᵀ G Q_A) ⊘ (Λ + λ)] Q_Aᵀ, on the compute
 * threads (float32 products: ~4 GFLOP per query and module on the demo model, which in float64 on the
 * main thread took 24 s for its 103 queries while the threads waited), the queries split among them.
 */
export async function preconditionOnThreads(
  pool: ScorePool,
  module: SelfPreconditioner,
  gradients: Float64Array[],
  priority?: Priority,
): Promise<Float64Array[]> {
  const size = module.outDim * module.inDim;
  const per = Math.ceil(gradients.length / Math.max(1, pool.size));
  const chunks = Array.from({ length: Math.ceil(gradients.length / per) }, (_, i) => gradients.slice(i * per, (i + 1) * per));
  const results = await Promise.all(
    chunks.map((chunk) => {
      const data = new Float32Array(chunk.length * size);
      chunk.forEach((g, q) => data.set(g, q * size));
      return pool.run({ kind: 'precondition', module, gradients: data, count: chunk.length }, { priority, transfer: [data.buffer] });
    }),
  );
  return results.flatMap((P, i) => chunks[i].map((_, q) => Float64Array.from(P.subarray(q * size, (q + 1) * size))));
}
