/**
 * A scored answer as the panel's views: a results folder's query as an answer (`resultsAnswer`), an answer
 * as the query view's input, the scored corpus's texts of a results folder, whether results were scored
 * with a set of factors, and a page of cards with snippets (the bold span from per-token influence when
 * the session that scored it is at hand, else the start of the text).
 */
import { resolve } from 'node:path';
import type { QueryViewInput } from '../report/queryView';
import { snippetFor } from '../report/snippet';
import type { CardPage } from '../../common/views';
import { scoredCorpusProblem } from '../results/scoredCorpus';
import type { LoadedResults } from '../results/types';
import { resultsQuery } from '../score/queries';
import { scoredCorpusPath } from './analyze';
import { CorpusTexts } from './documents';
import type { FactorSet } from './factors';
import type { InfluenceResult, InfluenceSession } from './influence';

/** A results folder's query as an answer (its row of scores, its prepared tokens). */
export function resultsAnswer(loaded: LoadedResults, q: number): InfluenceResult {
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

/** An answer as the input of its query view and pages, under the ref the panel opens it by. */
export function answerViewInput(ref: string, r: InfluenceResult): QueryViewInput {
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

/** The texts of a results folder's documents, from the corpus it records (none when it records none). */
export function scoredCorpusTexts(loaded: LoadedResults): CorpusTexts | undefined {
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

/** Whether the results were scored with these factors: the factor files' hashes when recorded (older results: the folder). */
export function scoredWithFactors(loaded: LoadedResults, f: FactorSet): boolean {
  const recorded = loaded.results.factors.stages;
  const loadedStages = Object.fromEntries(Object.entries(f.factors.manifest.stages).map(([stage, r]) => [stage, r.sha256]));
  const canonical = (stages: Record<string, string>) => JSON.stringify(Object.entries(stages).sort());
  return recorded ? canonical(recorded) === canonical(loadedStages) : resolve(loaded.dir, loaded.results.factors.path) === resolve(f.dir);
}

/** Where a page's snippets come from: the session that scored the answer, else the corpus texts. */
export interface SnippetSource {
  session?: InfluenceSession;
  texts?: CorpusTexts;
}

/** A page of the answer's cards with snippets; a corpus changed since scoring shows no text, and says why. */
export async function withSnippets(result: InfluenceResult, page: CardPage, from: SnippetSource, signal?: AbortSignal): Promise<CardPage> {
  const docs = page.cards.map((c) => result.documents.find((d) => d.index === c.docIndex)!);
  if (from.session) {
    const tokens = await from.session.documentTokens(result.query, docs, signal);
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
  const { texts, changed } = (await from.texts?.get(
    docs.map((d) => d.index),
    signal,
  )) ?? { texts: new Map<number, string>(), changed: undefined };
  return {
    ...page,
    cards: page.cards.map((c) => (texts.has(c.docIndex) ? { ...c, snippet: snippetFor(texts.get(c.docIndex)!) } : changed ? { ...c, noText: changed } : c)),
  };
}
