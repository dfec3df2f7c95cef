/**
 * Several gradient methods scored in ONE pass over the corpus. Every method's score is ⟨P_q, G_d⟩ with
 * the same document gradient G_d (actual next tokens) and only the query side P_q preconditioned
 * differently (docs/EKFAC.md), so the queries of all methods are stacked as one set of M×Q queries:
 * the corpus is read, and every document's gradient computed, once instead of M times.
 */
import type { ComputePool } from '../compute/computePool';
import { runBatched } from '../worker/batched';
import type { TaskOf, TaskResults } from '../compute/taskTable';
import { corpusItems, type CorpusItem, type DocumentMeta } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import type { ModuleFactors, Strategy } from '../ekfac/types';
import { dampingFor, modulePreconditioner, preconditionOnThreads } from '../score/precondition';
import type { PreparedQuery } from '../score/queries';
import { queryGradients } from '../score/score';
import type { QueryModule, SelfPreconditioner } from '../score/types';
import type { Tokenizer } from '../tokenizer/types';

/** A method's query side: its strategy and factors (none for raw gradients). */
export interface QuerySide {
  name: string;
  strategy: Strategy;
  factors?: ModuleFactors[];
}

/** Host bytes of stacked query gradients per corpus pass; more methods than fit take more passes. */
export const MAX_QUERY_BYTES = 800e6;

export interface GradientScoreOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  corpus: CorpusOptions;
  queries: PreparedQuery[];
  sides: QuerySide[];
  /** Also compute ‖g_q‖ and ‖g_d‖ (raw gradients, all tracked modules) for cosine similarity. */
  norms?: boolean;
  maxLen: number;
  maxQueryBytes?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { stage: string; done: number; total?: number; tokens?: number }) => void;
}

export interface GradientScores {
  documents: (DocumentMeta & { tokens: number })[];
  /** Per query: its completion's summed NLL (nats). */
  nll: number[];
  /** Per side: raw scores [queries × documents]. */
  scores: Map<string, Float32Array>;
  /** With `norms`: ‖g_q‖ per query and ‖g_d‖ per document. */
  queryNorms?: number[];
  documentNorms?: number[];
}

export async function scoreGradientMethods(o: GradientScoreOptions): Promise<GradientScores> {
  const Q = o.queries.length;
  const { gradients, dims, nll } = await queryGradients(o.pool, o.queries, o.batchSize ?? o.pool.batchSize, o.signal, (done) =>
    o.onProgress?.({ stage: 'query gradients', done, total: Q }),
  );
  const names = [...dims.keys()];
  const perQuery = names.reduce((n, name) => n + dims.get(name)![0] * dims.get(name)![1], 0) * 4 * Q;
  const perPass = Math.max(1, Math.floor((o.maxQueryBytes ?? MAX_QUERY_BYTES) / perQuery));
  const out: GradientScores = { documents: [], nll, scores: new Map() };
  if (o.norms) out.queryNorms = gradients.map((g) => Math.sqrt(names.reduce((s, n) => s + g.get(n)!.reduce((a, x) => a + x * x, 0), 0)));
  const groups: QuerySide[][] = [];
  for (let i = 0; i < o.sides.length; i += perPass) groups.push(o.sides.slice(i, i + perPass));
  if (groups.length === 0) groups.push([]);
  for (const [g, sides] of groups.entries()) {
    const withNorms = o.norms === true && g === 0;
    const pass = await corpusPass(o, sides, gradients, dims, withNorms, groups.length > 1 ? ` ${g + 1}/${groups.length}` : '');
    out.documents = pass.documents;
    for (const [k, v] of pass.scores) out.scores.set(k, v);
    if (withNorms) out.documentNorms = pass.norms;
  }
  return out;
}

async function corpusPass(
  o: GradientScoreOptions,
  sides: QuerySide[],
  gradients: Map<string, Float64Array>[],
  dims: Map<string, [number, number]>,
  norms: boolean,
  label: string,
): Promise<{ documents: GradientScores['documents']; scores: Map<string, Float32Array>; norms: number[] }> {
  const Q = gradients.length;
  const M = sides.length;
  const names = [...dims.keys()];
  const modules: QueryModule[] = [];
  for (const name of names) {
    const [outDim, inDim] = dims.get(name)!;
    const size = outDim * inDim;
    const P = new Float32Array(M * Q * size);
    for (const [m, side] of sides.entries()) {
      const f = side.factors?.find((x) => x.name === name) ?? { name, outDim, inDim };
      const preconditioner = modulePreconditioner(f, side.strategy, dampingFor(f, undefined), outDim, inDim);
      const sideP = await preconditionOnThreads(
        o.pool,
        preconditioner,
        gradients.map((g) => g.get(name)!),
      );
      sideP.forEach((p, q) => P.set(p, (m * Q + q) * size));
    }
    modules.push({ name, kind: 'dense', outDim, inDim, P });
  }
  await o.pool.broadcast({ kind: 'setQueries', queries: { count: M * Q, modules } });
  if (norms) {
    // Self-influence without preconditioning: ‖g_d‖².
    const self: SelfPreconditioner[] = names.map((name) => {
      const [outDim, inDim] = dims.get(name)!;
      return { name, outDim, inDim, inverseDamped: new Float32Array(outDim * inDim).fill(1) };
    });
    await o.pool.broadcast({ kind: 'setSelf', modules: self });
  }
  const documents: GradientScores['documents'] = [];
  const columns: Float32Array[] = [];
  const docNorms: number[] = [];
  let tokens = 0;
  await runBatched<CorpusItem, TaskOf<'score'>, TaskResults>(
    o.pool,
    corpusItems(o.corpus, o.tokenizer, o.bos, o.maxLen, { signal: o.signal }),
    o.batchSize ?? o.pool.batchSize,
    (batch) => ({ kind: 'score', sequences: batch.map((it) => it.sequence), self: norms }),
    (r, batch) => {
      batch.forEach((it, b) => {
        documents.push({ ...it.doc, tokens: it.sequence.tokens.length });
        columns.push(r.pairwise.slice(b * M * Q, (b + 1) * M * Q));
        tokens += it.sequence.tokens.length;
      });
      if (r.self) docNorms.push(...Array.from(r.self, (x) => Math.sqrt(Math.max(0, x))));
      o.onProgress?.({ stage: `scoring corpus${label} (${sides.map((s) => s.name).join(', ') || 'norms'})`, done: documents.length, tokens });
    },
    o.signal,
  );
  await o.pool.broadcast({ kind: 'setQueries', queries: { count: 0, modules: [] } });
  const D = documents.length;
  const scores = new Map<string, Float32Array>();
  sides.forEach((side, m) => {
    const s = new Float32Array(Q * D);
    for (let d = 0; d < D; d++) for (let q = 0; q < Q; q++) s[q * D + d] = columns[d][m * Q + q];
    scores.set(side.name, s);
  });
  return { documents, scores, norms: docNorms };
}

/** K-FAC's modules from an EK-FAC fit: the same eigenbases, Λ = e_S e_Aᵀ (as ekfac/load.ts builds it). */
export function kfacModules(ekfac: readonly ModuleFactors[]): ModuleFactors[] {
  return ekfac.map((m) => {
    const e = m.eigen!;
    const lambda = new Float64Array(e.outDim * e.inDim);
    for (let o = 0; o < e.outDim; o++) for (let i = 0; i < e.inDim; i++) lambda[o * e.inDim + i] = Math.max(0, e.eS[o]) * Math.max(0, e.eA[i]);
    return { ...m, lambda };
  });
}
