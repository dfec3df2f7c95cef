/** Build an index and score from it through the engine's entry points; compare with exact scores. */
import { spearman } from '../../server/src/engine/analysis/stats';
import { topK } from '../../server/src/engine/util/topK';
import type { Shard } from '../../server/src/engine/corpus/sequences';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { buildIndex, sketchChoice } from '../../server/src/engine/gradindex/build';
import { scoreWithIndex } from '../../server/src/engine/runs/scoreWithIndex';
import { bytesPerRow } from '../../server/src/engine/gradindex/sketch';
import type { IndexManifest } from '../../server/src/engine/gradindex/types';
import { bosId, stopIds } from '../../server/src/engine/model/openModel';
import type { QueryRecord } from '../../server/src/engine/queries/types';
import { resolveQueries } from '../../server/src/engine/score/queries';
import { identityFor, withPool, type Setup } from './influence';

const maxLenOf = (s: Setup) => s.settings?.maxLen ?? 128;

/** Builds an index of the setup's corpus with a sketch such as "eigen:16x32" (a pass of its own). */
export async function buildTestIndex(s: Setup, factorsDir: string, out: string, sketch: string, shard?: Shard, chunkBytes?: number) {
  const identity = await identityFor(s, 'ekfac');
  const factors = await loadFactors(factorsDir, { model: identity.model });
  return withPool(s, (pool) =>
    buildIndex({
      pool,
      tokenizer: s.model.tokenizer,
      bos: bosId(s.model),
      corpus: { path: s.corpus },
      factors,
      model: identity.model,
      corpusFingerprint: identity.corpus.fingerprint,
      out,
      sketch: sketchChoice(sketch),
      maxLen: maxLenOf(s),
      shard,
      chunkBytes,
    }),
  );
}

/**
 * Scores every query from the index (greedy completions of up to 16 tokens where a query has none, as
 * score()): by the sketch alone unless `candidates` asks for the rescoring tier (score --index's default).
 */
export async function indexScores(s: Setup, factorsDir: string, dir: string, queries: QueryRecord[], rerank = 0, candidates = SKETCH_ALONE) {
  const identity = await identityFor(s, 'ekfac');
  const factors = await loadFactors(factorsDir, { model: identity.model });
  return withPool(s, async (pool) => {
    const common = { pool, tokenizer: s.model.tokenizer, bos: bosId(s.model), maxLen: maxLenOf(s) };
    const prepared = await resolveQueries(queries, { ...common, stopIds: stopIds(s.model), maxNewTokens: 16 });
    return scoreWithIndex({
      ...common,
      corpus: { path: s.corpus },
      factors,
      queries: prepared,
      indexDir: dir,
      modelFingerprint: identity.model.fingerprint,
      corpusFingerprint: identity.corpus.fingerprint,
      rerank,
      candidates,
    });
  });
}

/** No candidates for the rescoring tier: the sketch's estimates (and its best and worst for the rerank). */
export const SKETCH_ALONE = { top: 0, bottom: 0, lexical: 0 };

export interface Accuracy {
  sketch: string;
  bytesPerDocument: number;
  /** Spearman of index against exact scores, per query. */
  rhos: number[];
  line: string;
}

/** Index vs exact scores (both [Q × D], same document order) for one built index. */
export function accuracy(sketch: string, manifest: Pick<IndexManifest, 'rows'>, got: Float32Array, exact: Float32Array, Q: number): Accuracy {
  const D = exact.length / Q;
  const rhos = Array.from({ length: Q }, (_, q) => spearman(got.subarray(q * D, (q + 1) * D), exact.subarray(q * D, (q + 1) * D)));
  const bytesPerDocument = bytesPerRow(manifest.rows);
  const line = `${sketch.padStart(14)}: ${bytesPerDocument} B/doc, Spearman min ${Math.min(...rhos).toFixed(3)} mean ${(rhos.reduce((a, b) => a + b) / Q).toFixed(3)}`;
  return { sketch, bytesPerDocument, rhos, line };
}

/** Queries whose exact top 10 lies, as a set, within the top n of `got`. */
export function topTenHits(got: Float32Array, exact: Float32Array, Q: number, n = 10): number {
  const D = exact.length / Q;
  let hits = 0;
  for (let q = 0; q < Q; q++) {
    const mine = new Set(topK(got.subarray(q * D, (q + 1) * D), n));
    if (topK(exact.subarray(q * D, (q + 1) * D), 10).every((d) => mine.has(d))) hits++;
  }
  return hits;
}
