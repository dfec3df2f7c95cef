/**
 * The panel's data: a hover's answer or a results folder's query as the single-query view, pages of
 * document cards with snippets (the bold span from per-token influence when the model and factors that
 * scored it are loaded, else the start of the text), and a results folder as the batch view. Views are
 * built by engine/report from the scores; the webview never receives more than a page of documents.
 */
import { resolve } from 'node:path';
import { readAnalysisAsync } from '../engine/analysis/analyze';
import { InfluenceLensError } from '../engine/errors';
import { buildBatchView } from '../engine/report/batchView';
import { buildQueryView, documentPage, type QueryViewInput } from '../engine/report/queryView';
import { snippetFor } from '../engine/report/snippet';
import type { BatchView, CardPage, QueryView, Side } from '../engine/report/types';
import { readResultsAsync } from '../engine/results/io';
import type { LoadedResults } from '../engine/results/types';
import { scoredCorpusProblem } from '../engine/results/scoredCorpus';
import { resultsQuery } from '../engine/score/queries';
import { scoredCorpusPath } from '../engine/runs/analyze';
import { CorpusTexts } from '../engine/runs/documents';
import type { InfluenceResult } from '../engine/runs/influence';
import type { AnswerStore, StoredAnswer } from '../refs';
import type { Session } from '../session/session';

export class PanelHandler {
  private readonly inputs = new WeakMap<StoredAnswer, QueryViewInput>();

  constructor(
    private readonly session: Session,
    private readonly answers: AnswerStore,
  ) {}

  async query(ref: string, signal?: AbortSignal): Promise<QueryView> {
    const { answer, input } = this.input(ref);
    const view = buildQueryView(input);
    const [top, bottom] = await Promise.all([this.withSnippets(answer, view.top, signal), this.withSnippets(answer, view.bottom, signal)]);
    return { ...view, top, bottom };
  }

  async page(ref: string, side: Side, offset: number, limit: number, signal?: AbortSignal): Promise<CardPage> {
    const { answer, input } = this.input(ref);
    return this.withSnippets(answer, documentPage(input, side, offset, Math.min(limit, 100)), signal);
  }

  /**
   * The batch view of a results folder; each of its queries gets a ref the panel can open. Its files are
   * read without holding the event loop, and `signal` (the request's cancellation) stops the reads.
   */
  async batch(dir: string, signal?: AbortSignal): Promise<BatchView> {
    const loaded = await readResultsAsync(dir, signal);
    const analysis = await readAnalysisAsync(dir, signal);
    const session = await this.compatibleSession(loaded);
    const texts = session ? undefined : corpusTexts(loaded);
    const refs = loaded.results.queries.map((_, q) =>
      this.answers.add({
        request: { prompt: loaded.results.queries[q].prompt },
        result: resultOf(loaded, q),
        session,
        texts,
        label: `${loaded.results.queries[q].id} (${dir})`,
      }),
    );
    return buildBatchView(loaded, analysis, { refFor: (q) => refs[q], title: dir });
  }

  private input(ref: string): { answer: StoredAnswer; input: QueryViewInput } {
    const answer = this.answers.get(ref);
    if (!answer?.result)
      throw new InfluenceLensError('NOT_FOUND', 'this answer is no longer known to the server; hover the prompt again (or reopen the results)');
    let input = this.inputs.get(answer);
    if (!input) {
      input = viewInput(ref, answer.result);
      this.inputs.set(answer, input);
    }
    return { answer, input };
  }

  private async withSnippets(answer: StoredAnswer, page: CardPage, signal?: AbortSignal): Promise<CardPage> {
    const result = answer.result!;
    const docs = page.cards.map((c) => result.documents.find((d) => d.index === c.docIndex)!);
    if (answer.session) {
      const tokens = await answer.session.documentTokens(result.query, docs, signal);
      return {
        ...page,
        cards: page.cards.map((c, i) => {
          const t = tokens[i];
          return t
            ? { ...c, snippet: snippetFor(t.text, { spans: t.spans.map(({ start, end, value }) => ({ start, end, score: value })), side: page.side }) }
            : c;
        }),
      };
    }
    const { texts, changed } = (await answer.texts?.get(
      docs.map((d) => d.index),
      signal,
    )) ?? { texts: new Map<number, string>(), changed: undefined };
    // A corpus changed since scoring shows no text, and says why.
    return {
      ...page,
      cards: page.cards.map((c) => (texts.has(c.docIndex) ? { ...c, snippet: snippetFor(texts.get(c.docIndex)!) } : changed ? { ...c, noText: changed } : c)),
    };
  }

  /** The warm influence session when the results were scored with its model and factors, on its corpus as it is now. */
  private async compatibleSession(loaded: LoadedResults) {
    const w = this.session.warm();
    if (!('influence' in w)) return undefined;
    const model = await w.run.modelId();
    // The factor files' hashes when the results record them (older results: the folder).
    const recorded = loaded.results.factors.stages;
    const loadedStages = Object.fromEntries(Object.entries(w.factors.factors.manifest.stages).map(([stage, r]) => [stage, r.sha256]));
    const canonical = (stages: Record<string, string>) => JSON.stringify(Object.entries(stages).sort());
    const sameFactors = recorded
      ? canonical(recorded) === canonical(loadedStages)
      : resolve(loaded.dir, loaded.results.factors.path) === resolve(w.factors.dir);
    if (model.fingerprint !== loaded.results.model.fingerprint || !sameFactors) return undefined;
    // Its documents are read from the session's corpus by number: only the corpus scored, unchanged, will do.
    const corpus = await this.session.corpusFingerprint(w.settings.corpus).catch(() => undefined);
    return corpus === loaded.results.corpus.fingerprint ? w.influence : undefined;
  }
}

/** A results folder's query as an answer (its row of scores, its prepared tokens). */
function resultOf(loaded: LoadedResults, q: number): InfluenceResult {
  const r = loaded.results;
  const rq = r.queries[q];
  const D = r.documents.length;
  return {
    query: {
      record: {
        id: rq.id,
        prompt: rq.prompt,
        completion: rq.completion,
        kind: (rq.kind ?? undefined) as never,
        task: rq.task ?? undefined,
        answer: rq.answer ?? undefined,
        file: loaded.dir,
        line: q + 1,
      },
      completion: rq.completion,
      generated: rq.generated,
      promptTokens: rq.promptTokens,
      completionTokens: rq.completionTokens,
    },
    nllNats: rq.nllNats,
    method: r.method.scoring === 'index' ? (r.method.rerank ? 'index+rescore' : 'index') : 'exact',
    top: [],
    bottom: [],
    scores: loaded.scores.subarray(q * D, (q + 1) * D),
    documents: r.documents,
    exact: r.method.scoring === 'index' ? r.documents.flatMap((d, j) => (d.exact ? [j] : [])) : 'all',
    estimated: [],
    timings: { prepareMs: 0, searchMs: 0, rescoreMs: 0, rerankMs: 0, totalMs: 0 },
  };
}

function viewInput(ref: string, r: InfluenceResult): QueryViewInput {
  const q = r.query;
  const exact = r.exact === 'all' ? undefined : new Set(r.exact);
  return {
    ref,
    query: resultsQuery(q, r.nllNats),
    documents: exact ? r.documents.map((d, j) => ({ ...d, exact: exact.has(j) })) : r.documents,
    scores: r.scores,
    method: { scoring: r.method === 'exact' ? 'exact' : 'index', ...(r.method === 'exact' ? {} : { rerank: exact?.size ?? 0 }) },
  };
}

function corpusTexts(loaded: LoadedResults): CorpusTexts | undefined {
  const path = scoredCorpusPath(loaded);
  if (!path) return undefined;
  const byIndex = new Map(loaded.results.documents.map((d) => [d.index, d]));
  // Same ids and sources are not enough: the text must be the one scored (the corpus fingerprint).
  return new CorpusTexts(
    { path },
    (i) => byIndex.get(i),
    undefined,
    (signal) => scoredCorpusProblem(loaded, { path }, signal),
  );
}
