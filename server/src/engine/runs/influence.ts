/**
 * Influence for one prompt at a time, warm: what a hover, the panel's single-query view and the document
 * view ask for. With a gradient index the corpus is searched in a fraction of a second and the best
 * candidates on each side are rescored exactly; without one, the query is scored exactly against every
 * document (a full pass, said so in the result). The documents shown are scored token by token, which
 * gives both their exact score and the span that carried it.
 */
import type { RunOptions } from '../worker/taskPool';
import { bottomK, topK } from '../util/topK';
import { tokenizeDocument } from '../corpus/tokenize';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { QueryKind } from '../queries/types';
import type { ResultsDocument } from '../results/types';
import { prepareQuery, type PreparedQuery } from '../score/queries';
import { scoreCorpus } from '../score/score';
import { perTokenPassHeapBytes, TokenScorer } from '../score/tokenScoring';
import type { CaptureSequence } from '../capture/types';
import { candidateRows, DEFAULT_CANDIDATES, type CandidateCounts, type CandidateSources } from './candidates';
import { tokenPieces } from '../tokenizer/pieces';
import { CorpusTexts } from './documents';
import { bestAndWorst, rescoreCandidates } from './tierRescore';
import type { FactorSet } from './factors';
import type { OpenIndex } from './indexQueries';
import type { ModelRun } from './modelRun';
import type { RunHooks } from './progress';
import { queryOptions } from './queries';
import { snippetFor } from '../report/snippet';
import type { Snippet } from '../../common/views';
import { resultsDocument } from '../results/document';

export interface InfluenceRequest {
  prompt: string;
  /** Absent: the model's own greedy completion. */
  completion?: string;
  id?: string;
  kind?: QueryKind;
  task?: string;
  answer?: string;
  /** Where the prompt came from, for messages. */
  file?: string;
  line?: number;
  /** Most helpful documents to return (default 5). */
  top?: number;
  /** Most harmful documents to return (default 3). */
  bottom?: number;
  /** With an index: documents per side scored exactly beyond those shown (default DEFAULT_RERANK), chosen by the rescoring tier. */
  rerank?: number;
  /** With an index: candidates rescored from the rescoring tier (default DEFAULT_CANDIDATES). */
  candidates?: CandidateCounts;
}

/** Documents per side scored token by token beyond those shown: a margin for the rescoring tier's small errors. */
export const DEFAULT_RERANK = 3;

export interface RankedDocument {
  document: ResultsDocument;
  /** Raw influence I(q, d). */
  score: number;
  perNat: number;
  /** Computed exactly (false: the index's approximation). */
  exact: boolean;
  /** A short piece of the document around its most influential span (absent when its text is unavailable). */
  snippet?: Snippet;
}

export type InfluenceMethod = 'index' | 'index+rescore' | 'exact';

export interface InfluenceResult {
  query: PreparedQuery;
  nllNats: number;
  method: InfluenceMethod;
  top: RankedDocument[];
  bottom: RankedDocument[];
  /** Every document's raw score (exact where rescored), in the order of `documents`. */
  scores: Float32Array;
  documents: ResultsDocument[];
  /** Positions (into `documents`) whose score is exact: all of them for 'exact', those scored token by token from an index. */
  exact: 'all' | number[];
  /** Positions whose score came from the rescoring tier (near-exact; exact ones excepted), empty without one. */
  estimated: number[];
  /** How many candidates each source gave (with an index and a rescoring tier). */
  candidates?: CandidateSources;
  timings: { prepareMs: number; searchMs: number; rescoreMs: number; rerankMs: number; totalMs: number };
}

/** One document's per-token influence on a query, aligned with its text. */
export interface DocumentInfluence {
  document: ResultsDocument;
  /** The document's text as scored: the decoded tokens (equal to the corpus text unless the tokenizer is lossy). */
  text: string;
  /** Whether `text` is the corpus text itself (else the decoded tokens). */
  original: boolean;
  /** Per scored token after BOS: its characters in `text` and the influence of learning to predict it. */
  tokens: { start: number; end: number; value: number }[];
  /** Characters of the corpus text past the maximum length (not scored). */
  truncatedChars: number;
  /** Raw I(q, d): the sum of the token values. */
  score: number;
}

export interface InfluenceSessionOptions {
  corpus: CorpusOptions;
  /** Answer from this index (opened for the same model and factors) when given. */
  index?: OpenIndex;
  damping?: number;
  maxNewTokens?: number;
  /** Greedy completions follow the `firstLine` rule, the model's answer (CompletionRule; the default); false: `full`. */
  firstLine?: boolean;
}

export class InfluenceSession {
  private constructor(
    readonly run: ModelRun,
    readonly factors: FactorSet,
    private readonly o: InfluenceSessionOptions,
    private readonly scorer: TokenScorer,
    readonly texts: CorpusTexts,
  ) {}

  static async create(run: ModelRun, factors: FactorSet, o: InfluenceSessionOptions): Promise<InfluenceSession> {
    const scorer = await TokenScorer.create(run.pool, factors.factors, o.damping, { priority: 'interactive' });
    const documents = o.index?.searcher.documents;
    const byIndex = documents && new Map(documents.map((d) => [d.index, d]));
    return new InfluenceSession(run, factors, o, scorer, new CorpusTexts(o.corpus, byIndex && ((i) => byIndex.get(i))));
  }

  /**
   * What a first hover would otherwise wait for, done ahead: the corpus texts read (small corpora are kept
   * whole), BM25's first search, and the compute threads' heaps made ready for a per-token pass.
   */
  async warm(): Promise<void> {
    // The threads' heaps grown and written to the size a per-token pass needs: the first hover's pass took
    // ~0.3 s longer writing fresh pages. In the background (~0.3 s on the demo): a hover queued meanwhile
    // goes next. (In steps of 32 MB, the hover's own tasks ran between them and grew the heap further.)
    const bytes = perTokenPassHeapBytes(this.run.checkpoint.config, this.factors.maxLen);
    const heaps = this.run.pool.broadcast({ kind: 'warmHeap', bytes }, { priority: 'background' });
    await this.texts.get([]);
    this.o.index?.lexical?.search('warm up', 1);
    await heaps;
  }

  get method(): 'index' | 'exact' {
    return this.o.index ? 'index' : 'exact';
  }

  /** The prompt as scored: tokens (cut to its last ones when too long) and the completion, generated if absent. */
  async prepare(r: InfluenceRequest, signal?: AbortSignal): Promise<PreparedQuery> {
    const record = {
      id: r.id ?? 'selection',
      prompt: r.prompt,
      completion: r.completion,
      kind: r.kind,
      task: r.task,
      answer: r.answer,
      file: r.file ?? '<editor>',
      line: r.line ?? 1,
    };
    return prepareQuery(record, {
      ...queryOptions(this.run, {
        maxLen: this.factors.maxLen,
        maxNewTokens: this.o.maxNewTokens,
        completion: this.o.firstLine === false ? 'full' : 'firstLine',
      }),
      truncatePrompt: true,
      priority: 'interactive',
      signal,
    });
  }

  async query(r: InfluenceRequest, signal?: AbortSignal, hooks: Pick<RunHooks, 'onProgress'> = {}): Promise<InfluenceResult> {
    const t0 = performance.now();
    const interactive: RunOptions = { priority: 'interactive', signal };
    // Background work waits while a person does: the steps below then run back to back.
    const release = this.o.index ? this.run.pool.foreground() : () => undefined;
    try {
      const query = await this.prepare(r, signal);
      const prepareMs = performance.now() - t0;
      const top = r.top ?? 5;
      const bottom = r.bottom ?? 3;
      if (!this.o.index) {
        const found = await this.scoreAll(query, signal, hooks);
        const shown = bestAndWorst(found.scores, undefined, top, bottom);
        const t1 = performance.now();
        const perToken = await this.scoredTexts(
          query,
          shown.map((j) => found.documents[j]),
          interactive,
        );
        const timings = { prepareMs, searchMs: t1 - t0 - prepareMs, rescoreMs: 0, rerankMs: performance.now() - t1 };
        return this.present(query, found, { shown, perToken, top, bottom, exactAll: true, timings, t0 });
      }
      const index = this.o.index;
      const t1 = performance.now();
      const found: Found = await this.search(index, query, interactive);
      const searchMs = performance.now() - t1;
      // One turn on the compute threads: the candidates rescored against this query, then the documents to show
      // (and `rerank` more per side) scored token by token, which makes their totals exact. BM25 and reading the
      // candidates' rows run here while the threads take the query.
      return await this.scorer.withQuery(
        query,
        async (turn, tier) => {
          const t2 = performance.now();
          if (tier) {
            Object.assign(found, { candidates: tier.candidates, sources: tier.sources });
            const scores = await rescoreCandidates(turn, index.rescore!, tier.candidates, tier.rows);
            tier.candidates.forEach((j, c) => (found.scores[j] = scores[c]));
          }
          const t3 = performance.now();
          const margin = r.rerank ?? DEFAULT_RERANK;
          const shown = bestAndWorst(found.scores, found.candidates, top + margin, bottom + margin);
          const perToken = await this.tokenScores(
            shown.map((j) => found.documents[j]),
            interactive,
            (seqs) => turn.tokens(seqs),
          );
          const timings = { prepareMs, searchMs, rescoreMs: t3 - t2, rerankMs: performance.now() - t3 };
          return this.present(query, found, { shown, perToken, top, bottom, exactAll: false, timings, t0 });
        },
        { ...interactive, rescoring: Boolean(index.rescore) },
        () => this.candidates(index, found.scores, query, r),
      );
    } finally {
      release();
    }
  }

  /**
   * The result: the documents scored token by token have exact totals; the top and bottom shown are the best
   * and worst of those (without an index, of every document, all exact).
   */
  private present(
    query: PreparedQuery,
    found: Found,
    o: {
      shown: number[];
      perToken: (ScoredText | undefined)[];
      top: number;
      bottom: number;
      exactAll: boolean;
      timings: Omit<InfluenceResult['timings'], 'totalMs'>;
      t0: number;
    },
  ): InfluenceResult {
    const { scores, documents, nllNats } = found;
    const exact = new Set<number>();
    o.shown.forEach((j, c) => {
      const values = o.perToken[c]?.values;
      if (!values) return;
      scores[j] = values.reduce((a, b) => a + b, 0);
      exact.add(j);
    });
    const ranked = (j: number, side: 'top' | 'bottom'): RankedDocument => {
      const t = o.perToken[o.shown.indexOf(j)];
      return {
        document: documents[j],
        score: scores[j],
        perNat: scores[j] / nllNats,
        exact: o.exactAll || exact.has(j),
        ...(t?.text !== undefined
          ? { snippet: snippetFor(t.text, { spans: t.spans.map(({ start, end, value }) => ({ start, end, score: value })), side, maxChars: 160 }) }
          : {}),
      };
    };
    const scored = Float32Array.from(o.shown, (j) => scores[j]);
    const best = (k: number, side: 'top' | 'bottom') =>
      o.exactAll ? (side === 'top' ? topK(scores, k) : bottomK(scores, k)) : (side === 'top' ? topK(scored, k) : bottomK(scored, k)).map((c) => o.shown[c]);
    return {
      query,
      nllNats,
      method: o.exactAll ? 'exact' : found.candidates ? 'index+rescore' : 'index',
      top: best(o.top, 'top').map((j) => ranked(j, 'top')),
      bottom: best(o.bottom, 'bottom').map((j) => ranked(j, 'bottom')),
      scores,
      documents,
      exact: o.exactAll ? 'all' : [...exact],
      estimated: (found.candidates ?? []).filter((j) => !exact.has(j)),
      ...(found.sources ? { candidates: found.sources } : {}),
      timings: { ...o.timings, totalMs: performance.now() - o.t0 },
    };
  }

  /** With an index: the sketch's estimate of every document (one query pass and a scan). */
  private async search(index: OpenIndex, query: PreparedQuery, o: RunOptions): Promise<Found> {
    const found = await index.engine.search(query, o);
    return { scores: Float32Array.from(found.scores), documents: index.searcher.documents, nllNats: found.nllNats };
  }

  /**
   * The candidates to rescore from the tier — the sketch's best and worst and BM25's best for the prompt and
   * completion — with their rows' prefixes; undefined without a tier or candidates.
   */
  private async candidates(
    index: OpenIndex,
    estimates: Float32Array,
    query: PreparedQuery,
    r: InfluenceRequest,
  ): Promise<{ candidates: number[]; sources: CandidateSources; rows: Uint8Array[] } | undefined> {
    const counts = r.candidates ?? DEFAULT_CANDIDATES;
    if (!index.rescore || counts.top + counts.bottom + counts.lexical === 0) return undefined;
    const { rows: candidates, sources } = candidateRows(estimates, index.lexical, `${query.record.prompt}${query.completion}`, counts);
    return { candidates, sources, rows: await index.rescore.readAsync(candidates, { prefix: true }) };
  }

  /** Without an index: every document scored exactly (a pass over the corpus). */
  private async scoreAll(query: PreparedQuery, signal: AbortSignal | undefined, hooks: Pick<RunHooks, 'onProgress'>): Promise<Found> {
    const exact = await scoreCorpus({
      pool: this.run.pool,
      tokenizer: this.run.tokenizer,
      bos: this.run.bos,
      corpus: this.o.corpus,
      factors: this.factors.factors,
      queries: [query],
      maxLen: this.factors.maxLen,
      damping: this.o.damping,
      signal,
      priority: 'interactive',
      slot: 'interactive',
      onProgress: (p) =>
        hooks.onProgress?.({
          stage: p.phase === 'queries' ? 'query gradient' : 'scoring corpus',
          done: p.done,
          total: p.total,
          tokens: p.tokens,
          elapsedMs: p.elapsedMs,
        }),
    });
    return {
      scores: exact.scores,
      documents: exact.documents.map(resultsDocument),
      nllNats: exact.queries[0].nllNats,
    };
  }

  /** Every scored token of one document with its influence on the query, aligned with the document's text. */
  async documentInfluence(query: PreparedQuery, document: ResultsDocument, signal?: AbortSignal): Promise<DocumentInfluence> {
    const [t] = await this.scoredTexts(query, [document], { priority: 'interactive', signal });
    if (!t || t.text === undefined)
      throw new InfluenceLensError(
        'DOCUMENT_UNAVAILABLE',
        `document ${document.id} (#${document.index}) is not in ${this.o.corpus.path} as it was scored: the corpus has changed`,
        { file: document.file, line: document.line },
      );
    return { document, text: t.text, original: t.original, tokens: t.spans, truncatedChars: t.truncatedChars, score: t.values.reduce((a, b) => a + b, 0) };
  }

  /** The text and per-token influence (character spans) of documents on a query, for snippets. */
  async documentTokens(
    query: PreparedQuery,
    docs: ResultsDocument[],
    signal?: AbortSignal,
  ): Promise<({ text: string; spans: { start: number; end: number; value: number }[] } | undefined)[]> {
    return (await this.scoredTexts(query, docs, { priority: 'interactive', signal })).map((t) => t && { text: t.text, spans: t.spans });
  }

  /** Per-token influence of documents on a query, in a scorer turn of its own. */
  private scoredTexts(query: PreparedQuery, docs: ResultsDocument[], o: RunOptions): Promise<(ScoredText | undefined)[]> {
    return this.tokenScores(docs, o, async (seqs) => (await this.scorer.scoreFor(query, seqs, o)).values);
  }

  /** Per-token influence of documents (exact), with their texts and the characters of each token; `score` runs the pass. */
  private async tokenScores(
    docs: ResultsDocument[],
    o: RunOptions,
    score: (sequences: CaptureSequence[]) => Promise<Float32Array[]>,
  ): Promise<(ScoredText | undefined)[]> {
    if (docs.length === 0) return [];
    const { texts } = await this.texts.get(
      docs.map((d) => d.index),
      o.signal,
    );
    const { tokenizer, bos } = this.run;
    const sequences = docs.map((d) => {
      const text = texts.get(d.index);
      return text === undefined ? undefined : { text, tokens: tokenizeDocument(text, tokenizer, bos, this.factors.maxLen) };
    });
    const present = sequences.filter((s): s is { text: string; tokens: number[] } => s !== undefined);
    const values = await score(present.map((s) => ({ tokens: s.tokens })));
    let k = 0;
    return sequences.map((s) => (s ? alignTokens(tokenizer, bos, s.text, s.tokens, values[k++]) : undefined));
  }
}

/** Scores over every document (estimates where not rescored), and the candidates the rescoring tier scored. */
interface Found {
  scores: Float32Array;
  documents: ResultsDocument[];
  nllNats: number;
  /** Positions rescored from the rescoring tier (absent: none; the per-token pass picks among all). */
  candidates?: number[];
  sources?: CandidateSources;
}

interface ScoredText {
  text: string;
  original: boolean;
  truncatedChars: number;
  values: Float32Array;
  spans: { start: number; end: number; value: number }[];
}

/**
 * Token j of the sequence (j ≥ 1, after BOS) is given the value of position j−1, whose loss term is the
 * prediction of token j: the influence of learning to produce that token.
 */
function alignTokens(tokenizer: ModelRun['tokenizer'], bos: number, text: string, tokens: number[], values: Float32Array): ScoredText {
  const pieces = tokenPieces(tokenizer, tokens.slice(1), bos);
  const decoded = pieces.join('');
  const original = text.startsWith(decoded);
  const spans: ScoredText['spans'] = [];
  let at = 0;
  pieces.forEach((p, k) => {
    spans.push({ start: at, end: at + p.length, value: values[k] });
    at += p.length;
  });
  return { text: original ? text : decoded, original, truncatedChars: original ? text.length - decoded.length : 0, values, spans };
}
