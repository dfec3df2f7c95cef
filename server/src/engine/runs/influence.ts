/**
 * Influence for one prompt at a time, warm: what a hover, the panel's single-query view and the document
 * view ask for. With a gradient index the corpus is searched in a fraction of a second and the best
 * candidates on each side are rescored exactly; without one, the query is scored exactly against every
 * document (a full pass, said so in the result). The documents shown are scored token by token, which
 * gives both their exact score and the span that carried it.
 */
import type { RunOptions } from '../backend/pool';
import { bottomK, topK } from '../analysis/stats';
import { tokenizeDocument } from '../corpus/tokenize';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { QueryKind } from '../queries/types';
import type { ResultsDocument } from '../results/types';
import { prepareQuery, type PreparedQuery } from '../score/queries';
import { scoreCorpus } from '../score/score';
import { TokenScorer } from '../score/tokenScoring';
import { tokenPieces } from '../tokenizer/pieces';
import { CorpusTexts } from './documents';
import type { FactorSet } from './factors';
import type { OpenIndex } from './indexQueries';
import type { ModelRun } from './modelRun';
import type { RunHooks } from './progress';
import { queryOptions } from './queries';
import { snippetFor } from '../report/snippet';
import type { Snippet } from '../report/types';

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
  /** With an index: candidates per side rescored exactly (default 20; 0 shows the index's approximation). */
  rerank?: number;
}

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

export type InfluenceMethod = 'index' | 'index+rerank' | 'exact';

export interface InfluenceResult {
  query: PreparedQuery;
  nllNats: number;
  method: InfluenceMethod;
  top: RankedDocument[];
  bottom: RankedDocument[];
  /** Every document's raw score (exact where rescored), in the order of `documents`. */
  scores: Float32Array;
  documents: ResultsDocument[];
  /** Positions (into `documents`) whose score is exact: all of them for 'exact', the rescored ones from an index. */
  exact: 'all' | number[];
  timings: { prepareMs: number; searchMs: number; rerankMs: number; totalMs: number };
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
  /** Greedy completions end with their first line of content. */
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

  get method(): 'index' | 'exact' {
    return this.o.index ? 'index' : 'exact';
  }

  /** The prompt as scored: tokens (cut to its last ones when too long) and the completion, generated if absent. */
  async prepare(r: InfluenceRequest, signal?: AbortSignal): Promise<PreparedQuery> {
    const record = { id: r.id ?? 'selection', prompt: r.prompt, completion: r.completion, kind: r.kind, task: r.task, answer: r.answer, file: r.file ?? '<editor>', line: r.line ?? 1 };
    return prepareQuery(record, {
      ...queryOptions(this.run, { maxLen: this.factors.maxLen, maxNewTokens: this.o.maxNewTokens, firstLine: this.o.firstLine }),
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
      const t1 = performance.now();
      let scores: Float32Array;
      let documents: ResultsDocument[];
      let nllNats: number;
      if (this.o.index) {
        const found = await this.o.index.engine.search(query, interactive);
        scores = Float32Array.from(found.scores);
        documents = this.o.index.searcher.documents;
        nllNats = found.nllNats;
      } else {
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
          onProgress: (p) => hooks.onProgress?.({ stage: p.phase === 'queries' ? 'query gradient' : 'scoring corpus', done: p.done, total: p.total, tokens: p.tokens, elapsedMs: p.elapsedMs }),
        });
        scores = exact.scores;
        documents = exact.documents.map(({ index, id, source, tokens, file, line }) => ({ index, id, source, tokens, file, line }));
        nllNats = exact.queries[0].nllNats;
      }
      const t2 = performance.now();
      const top = r.top ?? 5;
      const bottom = r.bottom ?? 3;
      const rerank = this.o.index ? (r.rerank ?? 20) : 0;
      // Candidates: the shown documents, and with an index the `rerank` best of each side by its estimate.
      const candidates = [...new Set([...topK(scores, Math.max(top, rerank)), ...bottomK(scores, Math.max(bottom, rerank))])];
      const perToken = await this.tokenScores(query, candidates.map((j) => documents[j]), interactive);
      const exact = new Set<number>();
      candidates.forEach((j, c) => {
        const values = perToken[c]?.values;
        if (!values) return;
        if (this.o.index && rerank > 0) scores[j] = values.reduce((a, b) => a + b, 0);
        exact.add(j);
      });
      const isExact = (j: number) => !this.o.index || (rerank > 0 && exact.has(j));
      const ranked = (j: number, side: 'top' | 'bottom'): RankedDocument => {
        const c = candidates.indexOf(j);
        const t = c >= 0 ? perToken[c] : undefined;
        return {
          document: documents[j],
          score: scores[j],
          perNat: scores[j] / nllNats,
          exact: isExact(j),
          ...(t?.text !== undefined ? { snippet: snippetFor(t.text, { spans: t.spans.map(({ start, end, value }) => ({ start, end, score: value })), side, maxChars: 160 }) } : {}),
        };
      };
      const t3 = performance.now();
      return {
        query,
        nllNats,
        method: this.o.index ? (rerank > 0 ? 'index+rerank' : 'index') : 'exact',
        top: topK(scores, top).map((j) => ranked(j, 'top')),
        bottom: bottomK(scores, bottom).map((j) => ranked(j, 'bottom')),
        scores,
        documents,
        exact: this.o.index ? (rerank > 0 ? [...exact] : []) : 'all',
        timings: { prepareMs: t1 - t0, searchMs: t2 - t1, rerankMs: t3 - t2, totalMs: t3 - t0 },
      };
    } finally {
      release();
    }
  }

  /** Every scored token of one document with its influence on the query, aligned with the document's text. */
  async documentInfluence(query: PreparedQuery, document: ResultsDocument, signal?: AbortSignal): Promise<DocumentInfluence> {
    const [t] = await this.tokenScores(query, [document], { priority: 'interactive', signal });
    if (!t || t.text === undefined) throw new InfluenceLensError('DOCUMENT_UNAVAILABLE', `document ${document.id} (#${document.index}) is not in ${this.o.corpus.path} as it was scored: the corpus has changed`, { file: document.file, line: document.line });
    return { document, text: t.text, original: t.original, tokens: t.spans, truncatedChars: t.truncatedChars, score: t.values.reduce((a, b) => a + b, 0) };
  }

  /** The text and per-token influence (character spans) of documents on a query, for snippets. */
  async documentTokens(query: PreparedQuery, docs: ResultsDocument[], signal?: AbortSignal): Promise<({ text: string; spans: { start: number; end: number; value: number }[] } | undefined)[]> {
    return (await this.tokenScores(query, docs, { priority: 'interactive', signal })).map((t) => t && { text: t.text, spans: t.spans });
  }

  /** Per-token influence of documents (exact), with their texts and the characters of each token. */
  private async tokenScores(query: PreparedQuery, docs: ResultsDocument[], o: RunOptions): Promise<(ScoredText | undefined)[]> {
    if (docs.length === 0) return [];
    const { texts } = await this.texts.get(docs.map((d) => d.index), o.signal);
    const { tokenizer, bos } = this.run;
    const sequences = docs.map((d) => {
      const text = texts.get(d.index);
      return text === undefined ? undefined : { text, tokens: tokenizeDocument(text, tokenizer, bos, this.factors.maxLen) };
    });
    const present = sequences.filter((s): s is { text: string; tokens: number[] } => s !== undefined);
    const { values } = await this.scorer.scoreFor(query, present.map((s) => ({ tokens: s.tokens })), o);
    let k = 0;
    return sequences.map((s) => (s ? alignTokens(tokenizer, bos, s.text, s.tokens, values[k++]) : undefined));
  }
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
