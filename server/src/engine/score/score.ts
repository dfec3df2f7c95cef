/**
 * Scoring: every query's preconditioned gradient against every corpus document, in one streaming pass
 * over the corpus that scores all queries together (docs/EKFAC.md, "Scoring").
 */
import type { ScorePool, ScoreResults, ScoreTask } from './tasks';
import type { Priority, TaskOf } from '../worker/taskPool';
import { runBatched } from '../worker/batched';
import { BY_TOKEN_COUNT, corpusItems, type CorpusItem, type DocumentMeta, type Shard } from '../corpus/sequences';
import { newCorpusReport, type CorpusHooks, type CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import type { Tokenizer } from '../tokenizer/types';
import { dampingFor, lowRank, modulePreconditioner, preconditionOnThreads } from './precondition';
import { querySequence, type PreparedQuery } from './queries';
import type { PreparedQueries, QueryModule, SelfPreconditioner } from './types';

export interface ScoreProgress {
  /** candidates: rescoring an index's candidates from its tier (scoreWithIndex). */
  phase: 'queries' | 'candidates' | 'corpus';
  done: number;
  total?: number;
  tokens: number;
  elapsedMs: number;
}

export interface ScoreOptions {
  pool: ScorePool;
  tokenizer: Tokenizer;
  bos: number;
  corpus: CorpusOptions;
  factors: LoadedFactors;
  queries: PreparedQuery[];
  maxLen: number;
  /** λ for every module; default 0.1 × mean(Λ) per module. */
  damping?: number;
  /** Rank of the low-rank query approximation; full rank when absent. */
  rank?: number;
  /** How low-rank queries are scored: chosen by cost (auto), or forced (benchmarks, tests). */
  contraction?: 'auto' | 'dense' | 'lowrank';
  selfInfluence?: boolean;
  shard?: Shard;
  /** Score only these documents (by corpus index), e.g. to rerank an index's top documents exactly. */
  only?: Set<number>;
  batchSize?: number;
  signal?: AbortSignal;
  /** Priority of the compute tasks (a hover scoring exactly is interactive). */
  priority?: Priority;
  /** The threads' query slot: runs that may overlap (a hover during a batch) use different ones. */
  slot?: string;
  /** Called with the corpus as it is read (e.g. to fingerprint it during the pass). */
  corpusHooks?: CorpusHooks;
  onProgress?: (p: ScoreProgress) => void;
}

export interface ScoredDocument extends DocumentMeta {
  tokens: number;
  /** Index scoring: whether this document was rescored exactly. */
  exact?: boolean;
}

export interface ScoredQuery extends PreparedQuery {
  /** Information content of the completion: its summed NLL in nats. */
  nllNats: number;
}

export interface ScoreOutput {
  documents: ScoredDocument[];
  queries: ScoredQuery[];
  /** Raw influence, [queries × documents] row-major. */
  scores: Float32Array;
  self?: Float32Array;
  damping: Record<string, number>;
  rank: number | null;
  /** How each module scored: materialised per-document gradients or the low-rank contraction. */
  contraction: Record<string, 'dense' | 'lowrank'>;
  skipped: number;
  skippedIssues: { file: string; line?: number; reason: string }[];
  /** Set when the scores came from a gradient index. */
  index?: { path: string; sketch: string; bytesPerDocument: number };
}

export async function scoreCorpus(o: ScoreOptions): Promise<ScoreOutput> {
  const started = Date.now();
  const { strategy } = o.factors.manifest.settings;
  const progress = (p: Omit<ScoreProgress, 'elapsedMs'>) => o.onProgress?.({ ...p, elapsedMs: Date.now() - started });

  // 1. Query gradients, one capture pass per batch of queries.
  const { gradients, dims, nll } = await queryGradients(
    o.pool,
    o.queries,
    o.batchSize ?? o.pool.batchSize,
    o.signal,
    (done) => progress({ phase: 'queries', done, total: o.queries.length, tokens: 0 }),
    o.priority,
  );

  // 2. Precondition (on the compute threads), optionally compress, and upload to every compute thread.
  const Q = o.queries.length;
  const damping: Record<string, number> = {};
  const contraction: Record<string, 'dense' | 'lowrank'> = {};
  const modules: QueryModule[] = [];
  const self: SelfPreconditioner[] = [];
  for (const f of o.factors.modules) {
    const [outDim, inDim] = dims.get(f.name) ?? [0, 0];
    if (f.lambda && f.lambda.length !== outDim * inDim) {
      throw new InfluenceLensError('FACTORS_MISMATCH', `factors for ${f.name} are ${f.outDim}×${f.inDim}; the model's gradients are ${outDim}×${inDim}`, {
        file: o.factors.dir,
      });
    }
    const lambda = (damping[f.name] = dampingFor(f, o.damping));
    const preconditioner = modulePreconditioner(f, strategy, lambda, outDim, inDim);
    const P = await preconditionOnThreads(
      o.pool,
      preconditioner,
      gradients.map((g) => g.get(f.name)!),
      o.priority,
    );
    modules.push(queryModule(f.name, outDim, inDim, P, o.rank, o.contraction ?? 'auto', contraction));
    if (o.selfInfluence) self.push(preconditioner);
  }
  const prepared: PreparedQueries = { count: Q, modules };
  await o.pool.broadcast({ kind: 'setQueries', queries: prepared, slot: o.slot }, { priority: o.priority });
  if (o.selfInfluence) await o.pool.broadcast({ kind: 'setSelf', modules: self, slot: o.slot }, { priority: o.priority });

  // 3. One pass over the corpus scores every query.
  const report = newCorpusReport();
  // Batches come length-sorted within windows (runBatched's bucketing: less padding); the results are put
  // back in corpus order at the end.
  const scored: { doc: ScoredDocument; column: Float32Array; self?: number }[] = [];
  let tokens = 0;
  await runBatched<CorpusItem, TaskOf<ScoreTask, 'score'>, ScoreResults>(
    o.pool,
    corpusItems(o.corpus, o.tokenizer, o.bos, o.maxLen, { shard: o.shard, only: o.only, report, signal: o.signal, hooks: o.corpusHooks }),
    o.batchSize ?? o.pool.batchSize,
    (batch) => ({ kind: 'score', sequences: batch.map((it) => it.sequence), self: o.selfInfluence === true, slot: o.slot }),
    (r, batch) => {
      batch.forEach((it, b) => {
        scored.push({ doc: { ...it.doc, tokens: it.sequence.tokens.length }, column: r.pairwise.slice(b * Q, (b + 1) * Q), self: r.self?.[b] });
        tokens += it.sequence.tokens.length;
      });
      progress({ phase: 'corpus', done: scored.length, tokens });
    },
    o.signal,
    { priority: o.priority },
    BY_TOKEN_COUNT,
  );
  scored.sort((x, y) => x.doc.index - y.doc.index);
  const documents = scored.map((s) => s.doc);
  if (documents.length === 0) throw new InfluenceLensError('EMPTY_CORPUS', 'no documents to score', { file: o.corpus.path });

  const D = documents.length;
  const scores = new Float32Array(Q * D);
  scored.forEach(({ column }, d) => column.forEach((v, q) => (scores[q * D + d] = v)));
  return {
    documents,
    queries: o.queries.map((q, i) => ({ ...q, nllNats: nll[i] })),
    scores,
    self: o.selfInfluence ? Float32Array.from(scored, (s) => s.self!) : undefined,
    damping,
    rank: o.rank ?? null,
    contraction,
    skipped: report.skippedCount,
    skippedIssues: report.skipped,
  };
}

export interface QueryGradients {
  /** Per query, per module: G_q [out×in] in float64. */
  gradients: Map<string, Float64Array>[];
  /** [out, in] per module (the bias column included). */
  dims: Map<string, [number, number]>;
  /** Per query: the completion's summed NLL (nats). */
  nll: number[];
}

/** Each query's gradient of its completion loss, in batches of queries. */
export async function queryGradients(
  pool: ScorePool,
  queries: PreparedQuery[],
  batchSize: number,
  signal?: AbortSignal,
  onDone?: (done: number) => void,
  priority?: Priority,
): Promise<QueryGradients> {
  const gradients: Map<string, Float64Array>[] = [];
  const dims = new Map<string, [number, number]>();
  const nll: number[] = [];
  await runBatched<PreparedQuery, TaskOf<ScoreTask, 'sequenceGradients'>, ScoreResults>(
    pool,
    queries,
    batchSize,
    (batch) => ({ kind: 'sequenceGradients', sequences: batch.map(querySequence) }),
    (r) => {
      nll.push(...r.losses);
      for (const perModule of r.gradients) {
        for (const m of perModule) dims.set(m.name, [m.outDim, m.inDim]);
        gradients.push(new Map(perModule.map((m) => [m.name, Float64Array.from(m.data)])));
      }
      onDone?.(gradients.length);
    },
    signal,
    { priority },
  );
  return { gradients, dims, nll };
}

/**
 * One module's prepared queries. Low rank (P ≈ L Rᵀ) is scored by contraction when that is cheaper per
 * token than materialising G_d: r·(in+out)·Q < in·out (amortising the per-document part over a typical
 * document of 256 tokens); otherwise the (possibly low-rank) P is sent dense.
 */
function queryModule(
  name: string,
  outDim: number,
  inDim: number,
  P: Float64Array[],
  rank: number | undefined,
  mode: 'auto' | 'dense' | 'lowrank',
  contraction: Record<string, 'dense' | 'lowrank'>,
): QueryModule {
  const Q = P.length;
  const useRank = rank !== undefined && Math.min(outDim, inDim) > rank;
  const factors = useRank ? P.map((p) => lowRank(p, outDim, inDim, rank)) : undefined;
  const r = factors ? Math.max(...factors.map((f) => f.rank)) : 0;
  const denseCostPerToken = outDim * inDim * (1 + Q / 256);
  if (factors && (mode === 'lowrank' || (mode === 'auto' && r * (inDim + outDim) * Q < denseCostPerToken))) {
    contraction[name] = 'lowrank';
    const L = new Float32Array(outDim * Q * r);
    const R = new Float32Array(inDim * Q * r);
    factors.forEach((f, q) => {
      for (let o = 0; o < outDim; o++) for (let j = 0; j < f.rank; j++) L[o * Q * r + q * r + j] = f.L[o * f.rank + j];
      for (let i = 0; i < inDim; i++) for (let j = 0; j < f.rank; j++) R[i * Q * r + q * r + j] = f.R[i * f.rank + j];
    });
    return { name, kind: 'lowrank', outDim, inDim, rank: r, L, R };
  }
  contraction[name] = 'dense';
  const dense = new Float32Array(Q * outDim * inDim);
  P.forEach((p, q) => {
    if (!factors) return dense.set(p, q * outDim * inDim);
    // P ≈ L Rᵀ, written out.
    const f = factors[q];
    for (let o = 0; o < outDim; o++) {
      for (let i = 0; i < inDim; i++) {
        let s = 0;
        for (let j = 0; j < f.rank; j++) s += f.L[o * f.rank + j] * f.R[i * f.rank + j];
        dense[q * outDim * inDim + o * inDim + i] = s;
      }
    }
  });
  return { name, kind: 'dense', outDim, inDim, P: dense };
}
