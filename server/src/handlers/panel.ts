/**
 * The panel's data: a hover's answer or a results folder's query as the single-query view, pages of
 * document cards with snippets (the bold span from per-token influence when the model and factors that
 * scored it are loaded, else the start of the text), and a results folder as the batch view. Views are
 * built by the engine (engine/runs/answerViews.ts, engine/report) from the scores; the webview never receives
 * more than a page of documents.
 */
import {
  answerViewInput,
  buildBatchView,
  buildQueryView,
  documentPage,
  InfluenceLensError,
  readAnalysisAsync,
  readResultsAsync,
  resultsAnswer,
  scoredCorpusTexts,
  scoredWithFactors,
  withSnippets,
  type BatchView,
  type CardPage,
  type LoadedResults,
  type QueryView,
  type QueryViewInput,
  type Side,
} from '../engine/api';
import type { AnswerStore, StoredAnswer } from '../refs';
import type { WarmState } from '../session/warmState';

export class PanelHandler {
  private readonly inputs = new WeakMap<StoredAnswer, QueryViewInput>();

  constructor(
    private readonly state: WarmState,
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
    const texts = session ? undefined : scoredCorpusTexts(loaded);
    const refs = loaded.results.queries.map((_, q) =>
      this.answers.add({
        request: { prompt: loaded.results.queries[q].prompt },
        result: resultsAnswer(loaded, q),
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
      input = answerViewInput(ref, answer.result);
      this.inputs.set(answer, input);
    }
    return { answer, input };
  }

  private withSnippets(answer: StoredAnswer, page: CardPage, signal?: AbortSignal): Promise<CardPage> {
    return withSnippets(answer.result!, page, answer, signal);
  }

  /** The warm influence session when the results were scored with its model and factors, on its corpus as it is now. */
  private async compatibleSession(loaded: LoadedResults) {
    const w = this.state.warm();
    if (!('influence' in w)) return undefined;
    const model = await w.run.modelId();
    const sameFactors = scoredWithFactors(loaded, w.factors);
    if (model.fingerprint !== loaded.results.model.fingerprint || !sameFactors) return undefined;
    // Its documents are read from the session's corpus by number: only the corpus scored, unchanged, will do.
    const corpus = await this.state.corpusFingerprint(w.settings.corpus).catch(() => undefined);
    return corpus === loaded.results.corpus.fingerprint ? w.influence : undefined;
  }
}
