/**
 * Scoring many queries from the index, in the results format, the way a hover ranks (docs/INDEX.md, "Two
 * tiers"): every document's estimate from the sketch; each query's candidates (the sketch's best and worst,
 * BM25's best for its prompt and completion) rescored from the rescoring tier; and, when asked, the best and
 * worst `rerank` of those scored exactly in one corpus pass for all queries (marked exact). An index built
 * without a tier, or `candidates` of 0, falls back to the sketch's best and worst for the exact pass.
 */
import { scoreCorpus, type ScoreOptions, type ScoreOutput } from '../score/score';
import { TokenScorer } from '../score/tokenScoring';
import { IndexQueryEncoder } from '../gradindex/queryVectors';
import { IndexSearcher } from '../gradindex/search';
import type { IndexPool } from '../gradindex/tasks';
import { dampingFor } from '../score/precondition';
import { bytesPerRow, sketchName } from '../gradindex/sketch';
import { candidateRows, DEFAULT_CANDIDATES, type CandidateCounts } from './candidates';
import { openIndexTiers } from './indexQueries';
import { bestAndWorst, rescoreCandidates } from './tierRescore';

export interface IndexScoreOutput extends ScoreOutput {
  index: {
    path: string;
    sketch: string;
    bytesPerDocument: number;
    /** Candidates per query rescored from the rescoring tier (mean of the union), absent where none were. */
    candidatesPerQuery?: number;
  };
}

export type IndexScoreOptions = Omit<ScoreOptions, 'shard' | 'only' | 'selfInfluence' | 'pool'> & {
  pool: IndexPool;
  indexDir: string;
  modelFingerprint: string;
  corpusFingerprint: string;
  /** Documents per side and query scored exactly. */
  rerank: number;
  /** Candidates per query rescored from the tier (default DEFAULT_CANDIDATES; all 0: the sketch alone). */
  candidates?: CandidateCounts;
};

/**
 * The rescoring tier is scored on the pool's token-query slot (TokenScorer): run it on a pool no hover
 * session shares (the CLI's, an evaluation's).
 */
export async function scoreWithIndex(o: IndexScoreOptions): Promise<IndexScoreOutput> {
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
    await searcher.close(); // the threads keep the tier's basis; the sketch's rows go before the passes below
  }
  const documents = searcher.documents.map((d) => ({ ...d, exact: false }));
  const counts = o.candidates ?? DEFAULT_CANDIDATES;
  const tiered = counts.top + counts.bottom + counts.lexical > 0 ? await rescoreFromTier(o, searcher.manifest, scores, D, counts) : undefined;
  // λ per module, as the index's query vectors used it (the same rule as exact scoring).
  const damping: Record<string, number> = Object.fromEntries(o.factors.modules.map((f) => [f.name, dampingFor(f, o.damping)]));
  const rerank = new Set<number>();
  for (let q = 0; q < Q && o.rerank > 0; q++) {
    for (const j of bestAndWorst(scores.subarray(q * D, (q + 1) * D), tiered?.candidates[q], o.rerank, o.rerank)) rerank.add(j);
  }
  let contraction: ScoreOutput['contraction'] = {};
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
  const candidatesPerQuery = tiered && Q > 0 ? tiered.candidates.reduce((n, c) => n + c.length, 0) / Q : undefined;
  return {
    documents,
    queries: o.queries.map((q, i) => ({ ...q, nllNats: nll[i] })),
    scores,
    damping,
    rank: o.rank ?? null,
    contraction,
    skipped: 0,
    skippedIssues: [],
    index: {
      path: o.indexDir,
      sketch: sketchName(searcher.manifest.sketch),
      bytesPerDocument: bytesPerRow(searcher.manifest.rows),
      ...(candidatesPerQuery !== undefined ? { candidatesPerQuery } : {}),
    },
  };
}

/**
 * Each query's candidates rescored from the tier, in place in `scores` (query-major, D per query); undefined
 * when the index has no tier. One query at a time is set on the threads.
 */
async function rescoreFromTier(
  o: IndexScoreOptions,
  manifest: IndexSearcher['manifest'],
  scores: Float32Array,
  D: number,
  counts: CandidateCounts,
): Promise<{ candidates: number[][] } | undefined> {
  const { rescore, lexical } = openIndexTiers(o.indexDir, manifest);
  if (!rescore) {
    lexical?.close();
    return undefined;
  }
  try {
    const started = Date.now();
    const scorer = await TokenScorer.create(o.pool, o.factors, o.damping, { signal: o.signal });
    const candidates: number[][] = [];
    for (const [q, query] of o.queries.entries()) {
      const row = scores.subarray(q * D, (q + 1) * D);
      const { rows } = candidateRows(row, lexical, `${query.record.prompt}${query.completion}`, counts);
      const tier = await scorer.withQuery(
        query,
        (turn, prefixes) => rescoreCandidates(turn, rescore, rows, prefixes),
        { signal: o.signal, rescoring: true },
        () => rescore.readAsync(rows, { prefix: true }),
      );
      rows.forEach((j, c) => (row[j] = tier[c]));
      candidates.push(rows);
      o.onProgress?.({ phase: 'candidates', done: q + 1, total: o.queries.length, tokens: 0, elapsedMs: Date.now() - started });
    }
    return { candidates };
  } finally {
    rescore.close();
    lexical?.close();
  }
}
