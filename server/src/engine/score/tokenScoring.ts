/**
 * Per-token influence of documents on one query, exact: g_tᵀ P_q a_t for every token t of each document
 * (position t's loss term is the prediction of token t+1), summed over modules; a document's values add up
 * to I(q, d). The query's preconditioned gradient is formed and kept on every compute thread (from the
 * eigenbases and 1/(Λ+λ) uploaded once), so scoring a few documents costs their capture pass only: the
 * hover's exact rerank and its "most influential span" come from the same pass.
 */
import { packRows, type ScorePool } from './tasks';
import type { RunOptions } from '../worker/taskPool';
import type { CaptureSequence } from '../capture/types';
import type { LoadedFactors } from '../ekfac/load';
import { dampingFor, modulePreconditioner } from './precondition';
import { querySequence, type PreparedQuery } from './queries';
import type { ModelConfig } from '../model/types';

/** What a caller may do while its query is the one set on the threads (TokenScorer.withQuery). */
export interface ScorerTurn {
  /** The query's completion loss (nats). */
  loss: number;
  /** Per-token influence of each document (one array per document, its length). */
  tokens(documents: CaptureSequence[]): Promise<Float32Array[]>;
  /**
   * Scores of rescoring-tier rows (docs/INDEX.md, "Two tiers"; whole rows, or prefixes: their first factors)
   * against the query, on threads that hold the tier's basis; with `queryRank`, against the query's
   * rank-`queryRank` approximation (0: the query itself).
   */
  rescore(rows: Uint8Array[], queryRank?: number): Promise<Float32Array>;
}

export class TokenScorer {
  /** The last step queued: a query is set and its documents scored as one step, steps one after another. */
  private queue: Promise<unknown> = Promise.resolve();

  private constructor(private readonly pool: ScorePool) {}

  /** Uploads the preconditioner (eigenbases and 1/(Λ+λ) per module) to every compute thread. */
  static async create(pool: ScorePool, factors: LoadedFactors, damping?: number, o: RunOptions = {}): Promise<TokenScorer> {
    const { strategy } = factors.manifest.settings;
    const modules = factors.modules.map((f) => modulePreconditioner(f, strategy, dampingFor(f, damping), f.outDim, f.inDim));
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
   * steps against that query, none interleaved with another caller's. `meanwhile` runs on this thread while
   * the compute threads set the query (reading what `work` will score), and `work` gets its answer.
   */
  withQuery<R, M = undefined>(
    query: PreparedQuery,
    work: (turn: ScorerTurn, prepared: M) => Promise<R>,
    o: RunOptions & { batchSize?: number; rescoring?: boolean } = {},
    meanwhile?: () => M | Promise<M>,
  ): Promise<R> {
    const step = this.queue.then(async () => {
      const setting = this.setQuery(query, o);
      // With `rescoring`, the threads make the query's low-rank factors for the tier right after it.
      const preparing = o.rescoring ? this.pool.broadcast({ kind: 'prepareRescoreQuery' }, o) : undefined;
      let prepared: M;
      try {
        prepared = meanwhile ? await meanwhile() : (undefined as M);
      } catch (e) {
        await Promise.all([setting, preparing]).catch(() => undefined);
        throw e;
      }
      const [loss] = await Promise.all([setting, preparing]);
      return work(
        {
          loss,
          tokens: (documents) => this.score(documents, o),
          rescore: (rows, queryRank = 0) => this.rescore(rows, queryRank, o),
        },
        prepared,
      );
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
  private async rescore(rows: Uint8Array[], queryRank: number, o: RunOptions): Promise<Float32Array> {
    const parts = this.pool.backend.gpu ? 1 : this.pool.size;
    const per = Math.ceil(rows.length / parts);
    const runs: Promise<Float32Array>[] = [];
    for (let i = 0; i < rows.length; i += per) {
      const part = packRows(rows.slice(i, i + per));
      runs.push(this.pool.run({ kind: 'rescoreRows', rows: part, queryRank }, { ...o, transfer: [part.bytes.buffer as ArrayBuffer] }));
    }
    const out = new Float32Array(rows.length);
    (await Promise.all(runs)).forEach((scores, k) => out.set(scores, k * per));
    return out;
  }

  /** Per-token influence of each document on the current query (one array per document, its length). */
  private async score(documents: CaptureSequence[], o: RunOptions & { batchSize?: number } = {}): Promise<Float32Array[]> {
    // A GPU takes them all at once; CPU threads one batch each, of like lengths so that little is padding.
    const most = o.batchSize ?? (this.pool.backend.gpu ? this.pool.batchSize : MAX_CPU_BATCH);
    const parts = this.pool.backend.gpu ? 1 : this.pool.size;
    const out = new Array<Float32Array>(documents.length);
    await Promise.all(
      lengthBatches(
        documents.map((d) => d.tokens.length),
        parts,
        most,
      ).map((at) => {
        const seqs = at.map((k) => documents[k]);
        return this.pool
          .run({ kind: 'tokenScores', sequences: seqs }, o)
          .then(({ L, values }) => seqs.forEach((s, b) => (out[at[b]] = values.slice(b * L, b * L + s.tokens.length))));
      }),
    );
    return out;
  }
}

/** Most documents in one CPU batch of the per-token pass (its memory grows with batch × length). */
const MAX_CPU_BATCH = 8;

/**
 * About the WebAssembly heap a per-token pass of MAX_CPU_BATCH documents of `maxLen` tokens takes, capped at
 * 512 MiB: per token, the loss's few copies of the logits and, per layer, the activations and attention
 * probabilities the backward pass keeps, half again for the allocator (demo model: ~370 MB estimated; its
 * threads' heaps reached ~300 MB over a hover's pass of 7 documents).
 */
export function perTokenPassHeapBytes(c: ModelConfig, maxLen: number): number {
  const floats = 4 * c.vocabSize + c.nLayers * (10 * c.dim + 6 * c.hiddenDim + 3 * c.nHeads * maxLen);
  return Math.min(512 * 2 ** 20, 1.5 * 4 * MAX_CPU_BATCH * maxLen * floats);
}

/**
 * Documents (by token count) into batches of at most `most`, as many as there are threads (more when
 * needed), contiguous in length order and split where the slowest batch — its padded tokens, count ×
 * longest — is least: the threads finish together and a hover waits for the slowest.
 */
export function lengthBatches(lengths: number[], parts: number, most: number): number[][] {
  const order = lengths.map((_, i) => i).sort((a, b) => lengths[a] - lengths[b]);
  if (order.length === 0) return [];
  const count = Math.max(parts, Math.ceil(order.length / most));
  // From the longest down: a batch takes documents while its padded tokens stay within `budget`.
  const split = (budget: number): number[][] | undefined => {
    const batches: number[][] = [];
    let i = order.length - 1;
    while (i >= 0) {
      const longest = Math.max(1, lengths[order[i]]);
      const batch: number[] = [];
      while (i >= 0 && batch.length < most && (batch.length + 1) * longest <= budget) batch.unshift(order[i--]);
      if (batch.length === 0 || batches.length === count) return undefined;
      batches.push(batch);
    }
    return batches;
  };
  // The least budget that fits in `count` batches (binary search over padded tokens).
  let lo = Math.max(1, ...lengths);
  let hi = lo * Math.min(order.length, most); // full batches: ⌈n / most⌉ ≤ count of them
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (split(mid)) hi = mid;
    else lo = mid + 1;
  }
  return split(lo)!.reverse();
}

/** One document's per-token influence on one query (sets up a scorer for the occasion). */
export async function tokenInfluence(
  pool: ScorePool,
  factors: LoadedFactors,
  query: PreparedQuery,
  document: CaptureSequence,
  damping?: number,
): Promise<Float32Array> {
  const scorer = await TokenScorer.create(pool, factors, damping);
  const { values } = await scorer.scoreFor(query, [document]);
  return values[0];
}
