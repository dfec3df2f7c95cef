/**
 * Fact tracing (docs/EVALUATION.md; Chang et al. 2024): for each factual query, the relevant documents
 * are those the labels say state its fact; a method is good when it ranks them first (MRR, recall@k),
 * reported over all factual queries and split by whether the model's completion was correct. For
 * reasoning queries: how over-represented the documents showing the query's procedure (its task, in
 * code or in worked math) are among the top k, relative to their share of the corpus.
 */
import { answerPattern } from '../analysis/answers';
import type { PreparedQuery } from '../score/queries';
import type { Attributions } from './attribute';
import { sameFact, type Labels } from './labels';
import { meanSe, multiplierAtK, recallAtK, reciprocalRank, type MeanSe } from './metrics';
import type { Method } from './methods';

export const RECALL_KS = [10, 50] as const;
export const PROCEDURE_KS = [10, 50] as const;
export const PROCEDURE_FORMS = ['code', 'math'] as const;

export interface RetrievalRow {
  queries: number;
  mrr: MeanSe;
  recall: MeanSe[];
}

export interface FactsMethodRow {
  method: Method;
  seconds: number | null;
  cached: boolean;
  all: RetrievalRow;
  correct: RetrievalRow;
  incorrect: RetrievalRow;
  /** Reasoning: per form (code, math), per k, the mean multiplier over reasoning queries. */
  procedures: Record<string, MeanSe[]>;
}

export interface FactsReport {
  documents: number;
  factual: { queries: number; correct: number; relevantPerQuery: MeanSe; unlabelled: string[] };
  reasoning: { queries: number; share: Record<string, Record<string, number>> };
  recallKs: number[];
  procedureKs: number[];
  methods: FactsMethodRow[];
}

/** The completion gives the answer: it is on the completion's first non-empty line (as demo:evaluate counts). */
export function completionCorrect(completion: string, answer: string): boolean {
  const first = completion.split('\n').find((l) => l.trim() !== '') ?? '';
  return answerPattern(answer)?.test(first) ?? false;
}

export function factTracing(a: Attributions, queries: readonly PreparedQuery[], labels: Labels): FactsReport {
  const D = a.documents.length;
  const docLabels = a.documents.map((d) => labels.documents.get(d.id));
  const factual: { q: number; relevant: Set<number>; correct: boolean }[] = [];
  const unlabelled: string[] = [];
  queries.forEach((q, i) => {
    if (q.record.kind !== 'factual') return;
    const fact = labels.queries.get(q.record.id)?.fact;
    if (!fact) return void unlabelled.push(q.record.id);
    const relevant = new Set<number>();
    docLabels.forEach((l, d) => l?.facts.some((f) => sameFact(f, fact)) && relevant.add(d));
    factual.push({ q: i, relevant, correct: completionCorrect(q.completion, q.record.answer ?? fact.value) });
  });
  const reasoning: { q: number; members: Record<string, Set<number>> }[] = [];
  const share: Record<string, Record<string, number>> = {};
  queries.forEach((q, i) => {
    if (q.record.kind !== 'reasoning') return;
    const task = labels.queries.get(q.record.id)?.procedure ?? q.record.task;
    if (!task) return;
    const members: Record<string, Set<number>> = {};
    for (const form of PROCEDURE_FORMS) {
      members[form] = new Set();
      docLabels.forEach((l, d) => l?.procedures.some((p) => p.task === task && p.form === form && p.steps) && members[form].add(d));
      (share[task] ??= {})[form] = members[form].size / D;
    }
    reasoning.push({ q: i, members });
  });

  const row = (scores: Float32Array, subset: typeof factual): RetrievalRow => {
    const rr: number[] = [];
    const rec: number[][] = RECALL_KS.map(() => []);
    for (const f of subset) {
      const s = scores.subarray(f.q * D, (f.q + 1) * D);
      rr.push(reciprocalRank(s, f.relevant));
      RECALL_KS.forEach((k, j) => rec[j].push(recallAtK(s, f.relevant, k)));
    }
    return { queries: subset.length, mrr: meanSe(rr), recall: rec.map(meanSe) };
  };
  const methods: FactsMethodRow[] = [...a.scores].map(([method, scores]) => {
    const procedures: Record<string, MeanSe[]> = {};
    for (const form of PROCEDURE_FORMS) {
      procedures[form] = PROCEDURE_KS.map((k) => meanSe(reasoning.map((r) => multiplierAtK(scores.subarray(r.q * D, (r.q + 1) * D), r.members[form], k))));
    }
    return {
      method,
      seconds: a.seconds.get(method) ?? null,
      cached: a.cached.includes(method),
      all: row(scores, factual),
      correct: row(
        scores,
        factual.filter((f) => f.correct),
      ),
      incorrect: row(
        scores,
        factual.filter((f) => !f.correct),
      ),
      procedures,
    };
  });
  return {
    documents: D,
    factual: {
      queries: factual.length,
      correct: factual.filter((f) => f.correct).length,
      relevantPerQuery: meanSe(factual.map((f) => f.relevant.size)),
      unlabelled,
    },
    reasoning: { queries: reasoning.length, share },
    recallKs: [...RECALL_KS],
    procedureKs: [...PROCEDURE_KS],
    methods,
  };
}
