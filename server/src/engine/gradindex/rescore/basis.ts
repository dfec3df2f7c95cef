/**
 * What a compute thread needs for the rescoring tier's K-FAC whitening (layout.ts, `whitening`): each
 * module's eigenbases and damped eigenvalues D = e + whitening × mean e, from which it forms D^-½ Qᵀ (the
 * documents' side) and D^½ Qᵀ (the query's side).
 */
import type { ModuleFactors } from '../../ekfac/types';
import type { RescoreBasisMessage } from '../reductions';
import type { RescoreSettings } from './layout';

export interface WhiteningMessage {
  /** Eigenvectors as columns, row-major [out × out] and [in × in]. */
  QS: Float32Array;
  QA: Float32Array;
  /** Damped eigenvalues [out] and [in]. */
  dS: Float32Array;
  dA: Float32Array;
}

const damped = (e: Float64Array, whitening: number) => {
  const mean = e.reduce((a, b) => a + Math.max(b, 0), 0) / e.length;
  return Float32Array.from(e, (x) => Math.max(x, 0) + whitening * mean);
};

/** Per module, in the index's order; none when the tier is not whitened. */
export function whiteningMessages(modules: ModuleFactors[], whitening: number): WhiteningMessage[] | undefined {
  if (whitening <= 0) return undefined;
  return modules.map((f) => {
    const e = f.eigen;
    if (!e) throw new Error(`module ${f.name} has no eigenbases to whiten the rescoring tier with`);
    return { QS: Float32Array.from(e.QS), QA: Float32Array.from(e.QA), dS: damped(e.eS, whitening), dA: damped(e.eA, whitening) };
  });
}

/** The tier's message for the compute threads, for an index's manifest and the factors' modules in its order. */
export function rescoreBasis(
  manifest: { rescore: RescoreSettings | null; modules: { name: string }[] },
  modules: ModuleFactors[],
): RescoreBasisMessage | undefined {
  const t = manifest.rescore;
  if (!t) return undefined;
  const { rank, sketchColumns, seed, rowBytes, prefixRank, prefixBytes, shapes, whitening } = t;
  const settings: RescoreSettings = { rank, sketchColumns, seed, rowBytes, prefixRank, prefixBytes, shapes, whitening };
  return { settings, names: manifest.modules.map((m) => m.name), whitening: whiteningMessages(modules, t.whitening) };
}
