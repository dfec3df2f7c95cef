/**
 * Scoring many queries from the index, in the results format, with the top and bottom N documents of
 * every query rescored exactly (and marked exact) when asked.
 */
import { bottomK, topK } from '../util/topK';
import { scoreCorpus, type ScoreOptions, type ScoreOutput } from '../score/score';
import { IndexQueryEncoder } from '../gradindex/queryVectors';
import { IndexSearcher } from '../gradindex/search';
import type { IndexPool } from '../gradindex/tasks';
import { dampingFor } from '../score/precondition';
import { bytesPerRow, sketchName } from '../gradindex/sketch';

export interface IndexScoreOutput extends ScoreOutput {
  index: { path: string; sketch: string; bytesPerDocument: number };
}

export async function scoreWithIndex(
  o: Omit<ScoreOptions, 'shard' | 'only' | 'selfInfluence' | 'pool'> & {
    pool: IndexPool;
    indexDir: string;
    modelFingerprint: string;
    corpusFingerprint: string;
    rerank: number;
  },
): Promise<IndexScoreOutput> {
  // The rerank reads o.corpus by the index's document numbers: the index must have been built on it.
  const searcher = await IndexSearcher.openOnPool(
    o.indexDir,
    { modelFingerprint: o.modelFingerprint, factors: o.factors, corpus: { fingerprint: o.corpusFingerprint, path: o.corpus.path } },
    o.pool,
  );
  const started = Date.now();
  const Q = o.queries.length;
  const D = searcher.documents.length;
  const scores = new Float32Array(Q * D);
  let nll: number[];
  try {
    const encoder = await IndexQueryEncoder.create(o.pool, searcher.manifest, o.factors, o.damping);
    const encoded = await encoder.encode(o.queries, {
      batchSize: o.batchSize,
      signal: o.signal,
      onDone: (done) => o.onProgress?.({ phase: 'queries', done, total: Q, tokens: 0, elapsedMs: Date.now() - started }),
    });
    nll = encoded.nll;
    for (let q = 0; q < Q; q++) scores.set(await searcher.scan(encoded.queries[q], o.signal), q * D);
  } finally {
    await searcher.close(); // the threads' memory goes before the exact rerank pass
  }
  const documents = searcher.documents.map((d) => ({ ...d, exact: false }));
  let contraction: ScoreOutput['contraction'] = {};
  // λ per module, as the index's query vectors used it (the same rule as exact scoring).
  const damping: Record<string, number> = Object.fromEntries(o.factors.modules.map((f) => [f.name, dampingFor(f, o.damping)]));
  const rerank = new Set<number>();
  for (let q = 0; q < Q && o.rerank > 0; q++) {
    const row = scores.subarray(q * D, (q + 1) * D);
    for (const d of [...topK(row, o.rerank), ...bottomK(row, o.rerank)]) rerank.add(d);
  }
  if (rerank.size > 0) {
    const byIndex = new Map(documents.map((d, j) => [d.index, j]));
    const exact = await scoreCorpus({ ...o, selfInfluence: false, only: new Set([...rerank].map((j) => documents[j].index)) });
    contraction = exact.contraction;
    exact.documents.forEach((doc, e) => {
      const j = byIndex.get(doc.index)!;
      documents[j].exact = true;
      for (let q = 0; q < Q; q++) scores[q * D + j] = exact.scores[q * exact.documents.length + e];
    });
  }
  return {
    documents,
    queries: o.queries.map((q, i) => ({ ...q, nllNats: nll[i] })),
    scores,
    damping,
    rank: o.rank ?? null,
    contraction,
    skipped: 0,
    skippedIssues: [],
    index: { path: o.indexDir, sketch: sketchName(searcher.manifest.sketch), bytesPerDocument: bytesPerRow(searcher.manifest.rows) },
  };
}
