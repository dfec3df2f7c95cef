/**
 * Per-token influence of one document on one query, for highlighting: g_tᵀ P_q a_t for every token t of
 * the document (position t's loss term is the prediction of token t+1), summed over modules; the values
 * add up to I(q, d).
 */
import type { ComputePool } from '../backend/pool';
import type { CaptureSequence } from '../capture/types';
import type { LoadedFactors } from '../ekfac/load';
import { dampingFor, precondition } from './precondition';
import { querySequence, type PreparedQuery } from './queries';

export async function tokenInfluence(
  pool: ComputePool,
  factors: LoadedFactors,
  query: PreparedQuery,
  document: CaptureSequence,
  damping?: number,
): Promise<Float32Array> {
  const { strategy } = factors.manifest.settings;
  const g = await pool.run({ kind: 'sequenceGradients', sequences: [querySequence(query)] });
  const byName = new Map(g.gradients[0].map((m) => [m.name, m]));
  const P = factors.modules.map((f) => {
    const m = byName.get(f.name)!;
    const p = precondition(Float64Array.from(m.data), f, strategy, dampingFor(f, damping));
    return { name: f.name, outDim: m.outDim, inDim: m.inDim, P: Float32Array.from(p) };
  });
  const perToken = await pool.run({ kind: 'tokenScore', sequence: document, P });
  return perToken.slice(0, document.tokens.length);
}
