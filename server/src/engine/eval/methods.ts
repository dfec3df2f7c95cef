/**
 * The attribution methods an evaluation compares (docs/EVALUATION.md), by name, and what each needs.
 */
import type { FisherMode, Strategy } from '../ekfac/types';

export const GRADIENT_METHODS = ['ekfac-sampled', 'ekfac-empirical', 'kfac', 'diagonal', 'identity', 'cosine'] as const;
export const INDEX_METHODS = ['index', 'index-rerank'] as const;
export const OTHER_METHODS = ['bm25', 'random'] as const;
export const METHODS = [...GRADIENT_METHODS, ...INDEX_METHODS, ...OTHER_METHODS] as const;
export type Method = (typeof METHODS)[number];
export type GradientMethod = (typeof GRADIENT_METHODS)[number];

/** What each gradient method preconditions with, and the factor fit it reads. */
export const PRECONDITIONER: Record<GradientMethod, { strategy: Strategy; fit: { strategy: Strategy; fisher: FisherMode } | null }> = {
  'ekfac-sampled': { strategy: 'ekfac', fit: { strategy: 'ekfac', fisher: 'sampled' } },
  'ekfac-empirical': { strategy: 'ekfac', fit: { strategy: 'ekfac', fisher: 'empirical' } },
  // K-FAC's factors are the covariance and eigen stages of the sampled EK-FAC fit (the stages a kfac
  // fit with the same seed computes), with Λ = e_S e_Aᵀ instead of the corrected eigenvalues.
  kfac: { strategy: 'kfac', fit: { strategy: 'ekfac', fisher: 'sampled' } },
  diagonal: { strategy: 'diagonal', fit: { strategy: 'diagonal', fisher: 'sampled' } },
  identity: { strategy: 'identity', fit: null },
  // Cosine of raw gradients (unit-normalised, as TrackStar): identity scores ÷ (‖g_q‖ ‖g_d‖).
  cosine: { strategy: 'identity', fit: null },
};

export const METHOD_LABELS: Record<Method, string> = {
  'ekfac-sampled': 'EK-FAC (sampled Fisher)',
  'ekfac-empirical': 'EK-FAC (empirical Fisher)',
  kfac: 'K-FAC',
  diagonal: 'diagonal',
  identity: 'identity (gradient dot product)',
  cosine: 'cosine of raw gradients',
  index: 'index (default size)',
  'index-rerank': 'index + exact rerank',
  bm25: 'BM25 (prompt + completion)',
  random: 'random',
};

export function parseMethods(list: string | undefined, allowed: readonly Method[] = METHODS): Method[] {
  if (list === undefined || list === '' || list === 'all') return [...allowed];
  const out = list.split(',').map((s) => s.trim());
  for (const m of out) if (!(allowed as readonly string[]).includes(m)) throw new Error(`unknown method "${m}" (one of ${allowed.join(', ')})`);
  return out as Method[];
}
