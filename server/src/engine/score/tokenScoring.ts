/**
 * Per-token influence of documents on one query, exact: g_tᵀ P_q a_t for every token t of each document
 * (position t's loss term is the prediction of token t+1), summed over modules; a document's values add up
 * to I(q, d). The query's preconditioned gradient is formed and kept on every compute thread (from the
 * eigenbases and 1/(Λ+λ) uploaded once), so scoring a few documents costs their capture pass only: the
 * hover's exact rerank and its "most influential span" come from the same pass.
 */
import type { ComputePool, RunOptions } from '../backend/pool';
import type { CaptureSequence } from '../capture/types';
import type { LoadedFactors } from '../ekfac/load';
import { dampingFor, inverseDamped } from './precondition';
import { querySequence, type PreparedQuery } from './queries';
import type { SelfPreconditioner } from './types';

/** What a caller may do while its query is the one set on the threads (TokenScorer.withQuery). */
export interface ScorerTurn {
  /** The query's completion loss (nats). */
  loss: number;
  /** Per-token influence of each document (one array per document, its length). */
  tokens(documents: CaptureSequence[]): Promise<Float32Array[]>;
  /** Scores of rescoring-tier rows (docs/INDEX.md, "Two tiers"; whole rows, or prefixes: their first factors) against the query, on threads that hold the tier's basis. */
  rescore(rows: Uint8Array[]): Promise<Float32Array>;
}

export class TokenScorer {
  /** The last step queued: a query is set and its documents scored as one step, steps one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly pool: ComputePool) {}

  /** Uploads the preconditioner (eigenbases and 1/(Λ+λ) per module) to every compute thread. */
  static async create(pool: ComputePool, factors: LoadedFactors, damping?: number, o: RunOptions = {}): Promise<TokenScorer> {
    const { strategy } = factors.manifest.settings;
    const rotating = strategy === 'ekfac' || strategy === 'kfac';
    const modules: SelfPreconditioner[] = factors.modules.map((f) => ({
      name: f.name,
      outDim: f.outDim,
      inDim: f.inDim,
      QA: rotating ? Float32Array.from(f.eigen!.QA) : undefined,
      QS: rotating ? Float32Array.from(f.eigen!.QS) : undefined,
      inverseDamped: Float32Array.from(inverseDamped(f, strategy, dampingFor(f, damping), f.outDim * f.inDim)),
    }));
    await pool.broadcast({ kind: 'setPreconditioner', modules }, o);
    return new TokenScorer(pool);
  }

  /**
   * Per-token influence of each document on `query`, with the query's completion loss. The threads hold
   * one query at a time, so concurrent callers (a hover, a document view, the panel) take turns: none
   * scores its documents against another's query.
   */
  scoreFor(query: PreparedQuery, documents: CaptureSequence[], o: RunOptions & { batchSize?: number } = {}): Promise<{ loss: number; values: Float32Array[] }> {
    return this.withQuery(query, async (turn) => ({ loss: turn.loss, values: await turn.tokens(documents) }), o);
  }

  /**
   * Sets `query` on every thread and runs `work` in the same turn: any number of rescoring and per-token
   * steps against that query, none interleaved with another caller's.
   */
  withQuery<R>(query: PreparedQuery, work: (turn: ScorerTurn) => Promise<R>, o: RunOptions & { batchSize?: number } = {}): Promise<R> {
    const step = this.queue.then(async () => {
      const loss = await this.setQuery(query, o);
      return work({
        loss,
        tokens: (documents) => this.score(documents, o),
        rescore: (rows) => this.rescore(rows, o),
      });
    });
    this.queue = step.catch(() => undefined);
    return step;
  }

  /** Makes `query` the one scored (on every thread); answers its completion loss in nats. */
  private async setQuery(query: PreparedQuery, o: RunOptions = {}): Promise<number> {
    const [r] = await this.pool.broadcast({ kind: 'setTokenQuery', sequence: querySequence(query) }, o);
    return r.loss;
  }

  /** Rescoring-tier rows against the current query, split over the threads (which hold the index's tier: IndexQueryEncoder). */
  private async rescore(rows: Uint8Array[], o: RunOptions): Promise<Float32Array> {
    const parts = this.pool.backend.gpu ? 1 : this.pool.size;
    const per = Math.ceil(rows.length / parts);
    const runs: Promise<Float32Array>[] = [];
    for (let i = 0; i < rows.length; i += per) runs.push(this.pool.run({ kind: 'rescoreRows', rows: rows.slice(i, i + per) }, o));
    const out = new Float32Array(rows.length);
    (await Promise.all(runs)).forEach((scores, k) => out.set(scores, k * per));
    return out;
  }

  /** Per-token influence of each document on the current query (one array per document, its length). */
  private async score(documents: CaptureSequence[], o: RunOptions & { batchSize?: number } = {}): Promise<Float32Array[]> {
    // Small batches spread over the worker threads, a GPU takes them all at once; documents of like length
    // batched together, so that little of a batch is padding.
    const batch = o.batchSize ?? (this.pool.backend.gpu ? this.pool.batchSize : 4);
    const order = documents.map((_, i) => i).sort((a, b) => documents[a].tokens.length - documents[b].tokens.length);
    const out = new Array<Float32Array>(documents.length);
    const parts: Promise<void>[] = [];
    for (let i = 0; i < order.length; i += batch) {
      const at = order.slice(i, i + batch);
      const seqs = at.map((k) => documents[k]);
      parts.push(
        this.pool.run({ kind: 'tokenScores', sequences: seqs }, o).then(({ L, values }) => seqs.forEach((s, b) => (out[at[b]] = values.slice(b * L, b * L + s.tokens.length)))),
      );
    }
    await Promise.all(parts);
    return out;
  }
}

/** One document's per-token influence on one query (sets up a scorer for the occasion). */
export async function tokenInfluence(pool: ComputePool, factors: LoadedFactors, query: PreparedQuery, document: CaptureSequence, damping?: number): Promise<Float32Array> {
  const scorer = await TokenScorer.create(pool, factors, damping);
  const { values } = await scorer.scoreFor(query, [document]);
  return values[0];
}
