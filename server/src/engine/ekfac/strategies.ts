/**
 * The strategies in one table (like kronfluence's factor/config.py): what each fits and how it
 * preconditions a gradient (docs/EKFAC.md). Code asks this table; no `strategy === …` elsewhere.
 */
import { rotate, unrotate } from '../linalg/matrix';
import type { ModuleFactors, StageName, Strategy } from './types';

export interface StrategySpec {
  /** The fit stages it needs, in order. */
  stages: readonly StageName[];
  /** Eigenbases Q_A, Q_S are fitted and scoring rotates into them (what a gradient index needs). */
  eigenbases: boolean;
  /** Its Λ pass runs in the eigenbases (EK-FAC's eigenvalue correction), so that pass can also write the index. */
  lambdaInEigenbases: boolean;
  /** How G is preconditioned: left as is, divided elementwise by Λ + λ, or divided in the eigenbases. */
  preconditioner: 'none' | 'diagonal' | 'eigenbases';
}

export const STRATEGY_SPECS: Record<Strategy, StrategySpec> = {
  ekfac: { stages: ['covariance', 'eigen', 'lambda'], eigenbases: true, lambdaInEigenbases: true, preconditioner: 'eigenbases' },
  // Λ = e_S e_Aᵀ from the eigenvalues (ekfac/load.ts): no Λ pass.
  kfac: { stages: ['covariance', 'eigen'], eigenbases: true, lambdaInEigenbases: false, preconditioner: 'eigenbases' },
  diagonal: { stages: ['lambda'], eigenbases: false, lambdaInEigenbases: false, preconditioner: 'diagonal' },
  identity: { stages: [], eigenbases: false, lambdaInEigenbases: false, preconditioner: 'none' },
};

/** P = Q_S [(Q_Sᵀ G Q_A) ⊘ (Λ + λ)] Q_Aᵀ in float64; factors without Λ (or eigenbases) fall back to the simpler forms. */
export function precondition(G: Float64Array, f: ModuleFactors, strategy: Strategy, lambda: number): Float64Array {
  const how = STRATEGY_SPECS[strategy].preconditioner;
  if (how === 'none' || !f.lambda) return G;
  if (how === 'diagonal' || !f.eigen) return G.map((g, i) => g / (f.lambda![i] + lambda));
  const { QA, QS, outDim, inDim } = f.eigen;
  const r = rotate(QS, G, QA, outDim, inDim);
  for (let i = 0; i < r.length; i++) r[i] /= f.lambda[i] + lambda;
  return unrotate(QS, r, QA, outDim, inDim);
}

/** 1/(Λ+λ) for self-influence (all ones for identity). */
export function inverseDamped(f: ModuleFactors, strategy: Strategy, lambda: number, n: number): Float64Array {
  if (STRATEGY_SPECS[strategy].preconditioner === 'none' || !f.lambda) return new Float64Array(n).fill(1);
  return f.lambda.map((x) => 1 / (x + lambda));
}
