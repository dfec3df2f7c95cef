/**
 * Hovers: on a selection in any file (the client sends the selection: LSP's hover carries none), on the
 * paragraph under the cursor of a text or Markdown file (plain LSP hover), and on a query block of an .infq file. The selected text is the prompt; a separator line (default `---`) splits
 * off a completion, else the model's own greedy completion is used. A new hover cancels the one before.
 */
import {
  candidateCounts,
  corpusInput,
  describeError,
  type InfluenceRequest,
  type InfluenceResult,
  isInfluenceLensError,
  type QueryRecord,
  type RankedDocument,
} from '../engine/api';
import { CancelledError } from '../jobs';
import type { HoverAnswer, InfluenceHoverResult, Range } from '../protocol';
import type { AnswerStore } from '../refs';
import type { WarmState } from '../session/warmState';
import { influenceMarkdown, missingMarkdown, offerMarkdown, waitingMarkdown } from './hoverView';
import { text } from './markdown';

/** Bytes of corpus text per token, for estimating a corpus's size in tokens before reading it. */
const BYTES_PER_TOKEN = 4;

export class HoverHandler {
  private current: AbortController | undefined;

  constructor(
    private readonly state: WarmState,
    private readonly answers: AnswerStore,
    /** The README's section on scores, linked from every answer (a file URL), when there is a README. */
    private readonly readme?: string,
  ) {}

  /** A selection's influence, or null for a blank selection. */
  async selection(selected: string, range: Range, where: { file: string; line: number }, cancel?: AbortSignal): Promise<InfluenceHoverResult | null> {
    if (selected.trim() === '') return null;
    const settings = this.state.settings;
    const { prompt, completion } = splitSelection(selected, settings?.separator ?? '---');
    if (prompt.trim() === '') return null;
    return this.answer({ prompt, completion, id: 'selection', file: where.file, line: where.line }, range, `selection at ${where.file}:${where.line}`, cancel);
  }

  /** A query of a query file. */
  async query(record: QueryRecord, range: Range, cancel?: AbortSignal): Promise<InfluenceHoverResult | null> {
    const { id, prompt, completion, kind, task, answer, file, line } = record;
    return this.answer({ id, prompt, completion, kind, task, answer, file, line }, range, `query ${id} (${file}:${line})`, cancel);
  }

  private async answer(request: InfluenceRequest, range: Range, label: string, cancel?: AbortSignal): Promise<InfluenceHoverResult> {
    this.current?.abort(new CancelledError('a newer hover replaced this one'));
    const abort = new AbortController();
    this.current = abort;
    const onCancel = () => abort.abort(new CancelledError('the hover was cancelled'));
    cancel?.addEventListener('abort', onCancel, { once: true });
    try {
      const warm = this.state.warm();
      if (!('influence' in warm)) {
        const busy = this.state.status.factors?.state === 'working';
        return { markdown: busy ? waitingMarkdown('the factors are being fitted') : missingMarkdown(warm), range };
      }
      const s = warm.settings;
      const r = { ...request, top: s.hover.top, bottom: s.hover.bottom, rerank: s.hover.rerank, candidates: candidateCounts(s.hover.candidates) };
      if (!warm.index) {
        const bytes = (await corpusInput(s.corpus)).totalBytes;
        const tokens = Math.round(bytes / BYTES_PER_TOKEN);
        if (tokens > s.exactHoverTokens) {
          const ref = this.answers.add({ result: undefined, session: warm.influence, label, request: r });
          const building = this.state.status.index?.state === 'working';
          return { markdown: building ? waitingMarkdown('the index is being built') : offerMarkdown(s.corpus, tokens, ref), range, ref };
        }
      }
      const result = await warm.influence.query(r, abort.signal);
      const ref = this.answers.add({ result, session: warm.influence, label, request: r });
      return { markdown: influenceMarkdown(result, ref, { indexMissing: !warm.index, readme: this.readme }), range, ref, answer: hoverAnswer(result) };
    } catch (e) {
      if (abort.signal.aborted) throw e; // the client drops a cancelled request
      const { message } = describeError(e);
      if (!isInfluenceLensError(e)) throw e;
      return { markdown: `**Influence Lens**: ${text(message, 600)}`, range };
    } finally {
      cancel?.removeEventListener('abort', onCancel);
      if (this.current === abort) this.current = undefined;
    }
  }
}

function hoverAnswer(r: InfluenceResult): HoverAnswer {
  const { totalMs, ...timings } = r.timings;
  const doc = (d: RankedDocument) => ({ index: d.document.index, id: d.document.id, source: d.document.source, perNat: d.perNat, exact: d.exact });
  return {
    method: r.method,
    completion: r.query.completion,
    completionTokens: r.query.completionTokens,
    generated: r.query.generated,
    nllNats: r.nllNats,
    promptTokens: r.query.promptTokens.length - 1,
    top: r.top.map(doc),
    bottom: r.bottom.map(doc),
    totalMs,
    timings,
    ...(r.candidates ? { candidates: r.candidates } : {}),
  };
}

/**
 * The prompt and the optional completion of a selection: the first line that is exactly the separator
 * (surrounding spaces aside) splits them; the line breaks around it belong to neither.
 */
export function splitSelection(selected: string, separator: string): { prompt: string; completion?: string } {
  const lines = selected.split('\n');
  const at = lines.findIndex((l) => l.replace(/\r$/, '').trim() === separator);
  if (at < 0) return { prompt: selected };
  const prompt = lines.slice(0, at).join('\n').replace(/\r$/, '');
  const completion = lines.slice(at + 1).join('\n');
  return completion.trim() === '' ? { prompt } : { prompt, completion };
}
