/**
 * Analysis 4, answers in the top documents: for each query with an answer (and, optionally,
 * intermediate step answers), does the answer occur in the text of the k most influential documents
 * (by score) for k on a ladder? The paper (k = 500 of millions): for factual queries the answer is
 * often there, for reasoning queries almost never.
 *
 * Matching: case-insensitive, on word boundaries (so "Paris" does not match "Parisian"), whitespace
 * in the answer matching any run of whitespace. Numbers match exactly: "21" is not found in "210",
 * "2.1", "21.5", "1/21", "x21" or "−21", but is in "= 21." and "5-21" (binary minus); "-3" is found
 * in "is -3" or "−3" but not in "5-3".
 */
import { kindOf, orderedKinds, taskKey, type QueryLabel } from './groups';

const WORD = String.raw`[\p{L}\p{N}_]`;
const NUMBER = /^[-+−]?(?:\d+(?:\.\d+)?|\.\d+)(?:\/\d+(?:\.\d+)?)?$/;
/** What makes the minus before a number binary: an operand right before it, or a number/bracket then spaces. */
const OPERAND_BEFORE = String.raw`(?:[\p{L}\p{N}_)\]]|[\p{N})\]]\s+)`;
const UNARY_MINUS = String.raw`(?<!${OPERAND_BEFORE})[-−]`;

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The regular expression that finds `answer` in a text (see the module comment); null for an empty answer. */
export function answerPattern(answer: string): RegExp | null {
  const a = answer.trim();
  if (a === '') return null;
  if (NUMBER.test(a)) {
    const negative = a[0] === '-' || a[0] === '−';
    const body = escapeRegExp(a.replace(/^[-+−]/, ''));
    const end = String.raw`(?!${WORD}|[.,/]\p{N})`;
    const start = negative ? UNARY_MINUS : String.raw`(?<!${WORD}|[./])(?<!${UNARY_MINUS})`;
    return new RegExp(`${start}${body}${end}`, 'iu');
  }
  const body = a
    .split(/\s+/)
    .map(escapeRegExp)
    .join(String.raw`\s+`);
  const word = new RegExp(`^${WORD}$`, 'u');
  const start = word.test(a[0]) ? `(?<!${WORD})` : '';
  const end = word.test(a[a.length - 1]) ? `(?!${WORD})` : '';
  return new RegExp(`${start}${body}${end}`, 'iu');
}

/** Whether `text` contains `answer` (see the module comment). */
export function containsAnswer(text: string, answer: string): boolean {
  const p = answerPattern(answer);
  return p !== null && p.test(text);
}

/** Default k for a corpus of N documents: 1% and 5% of N (at least 1), and 10, 50 and 500, each at most N. */
export function answerLadder(documents: number): number[] {
  if (documents <= 0) return [];
  const ks = [Math.ceil(documents / 100), Math.ceil(documents / 20), 10, 50, 500].map((k) => Math.max(1, Math.min(documents, k)));
  return [...new Set(ks)].sort((a, b) => a - b);
}

/**
 * 1-based ranks (within `top`, a list of document positions, best first) of the documents whose text
 * matches `pattern`; `missing` counts documents whose text is unavailable.
 */
export function answerRanks(top: readonly number[], text: (position: number) => string | undefined, pattern: RegExp): { ranks: number[]; missing: number } {
  const ranks: number[] = [];
  let missing = 0;
  top.forEach((d, i) => {
    const t = text(d);
    if (t === undefined) missing++;
    else if (pattern.test(t)) ranks.push(i + 1);
  });
  return { ranks, missing };
}

/** Ranks kept per query in the report (the count covers all). */
export const MAX_RANKS_REPORTED = 20;

export interface AnswerQuery {
  id: string;
  kind: string;
  task: string | null;
  answer: string;
  /** Whether the query's completion contains the answer (the paper counts "correct" queries). */
  completionHasAnswer: boolean;
  /** Per k of the ladder: the answer occurs in one of the top k documents. */
  hit: boolean[];
  /** Rank of the first top document containing the answer (within the largest k), or null. */
  firstRank: number | null;
  /** The first ranks (at most MAX_RANKS_REPORTED) where it occurs, within the largest k. */
  ranks: number[];
  /** Documents among the top (largest k) that contain it. */
  occurrences: number;
  /** Intermediate step answers (when the query carries `steps`). */
  steps?: { step: string; hit: boolean[]; firstRank: number | null }[];
}

export interface AnswerSummary {
  /** Queries with an answer. */
  queries: number;
  /** Per k: queries whose answer is in the top k. */
  hits: number[];
  hitRate: (number | null)[];
  /** Of the queries whose completion contains the answer ("correct"). */
  correct: number;
  hitRateCorrect: (number | null)[];
  /** Step answers, pooled over the steps of all queries (absent when none has steps). */
  steps?: { steps: number; hitRate: (number | null)[] };
}

export interface AnswerReport {
  available: true;
  ks: number[];
  perQuery: AnswerQuery[];
  byKind: Record<string, AnswerSummary>;
  byTask: Record<string, AnswerSummary>;
  /** Top documents whose text could not be found in the corpus (0 when all were). */
  missingTexts: number;
}

export interface AnswerQueryInput extends QueryLabel {
  answer: string | null;
  completion: string;
  steps?: readonly string[];
}

function summarizeAnswers(entries: AnswerQuery[], ks: number[]): AnswerSummary {
  const rate = (n: number, of: number) => (of > 0 ? n / of : null);
  const count = (list: AnswerQuery[], j: number) => list.filter((q) => q.hit[j]).length;
  const correct = entries.filter((q) => q.completionHasAnswer);
  const hits = ks.map((_, j) => count(entries, j));
  const out: AnswerSummary = {
    queries: entries.length,
    hits,
    hitRate: hits.map((h) => rate(h, entries.length)),
    correct: correct.length,
    hitRateCorrect: ks.map((_, j) => rate(count(correct, j), correct.length)),
  };
  const steps = entries.flatMap((q) => q.steps ?? []);
  if (steps.length) out.steps = { steps: steps.length, hitRate: ks.map((_, j) => rate(steps.filter((s) => s.hit[j]).length, steps.length)) };
  return out;
}

/**
 * The analysis: `top[q]` lists query q's top documents (positions, best first, at least max(ks) of
 * them or all), `text` gives a document's text by position. Queries without an answer are left out.
 */
export function answerAnalysis(
  queries: readonly AnswerQueryInput[],
  top: readonly (readonly number[])[],
  text: (position: number) => string | undefined,
  ks: readonly number[],
): AnswerReport {
  const ladder = [...new Set(ks)].sort((a, b) => a - b);
  const maxK = ladder.length ? ladder[ladder.length - 1] : 0;
  let missingTexts = 0;
  const seen = new Set<number>();
  const perQuery: AnswerQuery[] = [];
  queries.forEach((q, i) => {
    const pattern = q.answer === null ? null : answerPattern(q.answer);
    if (!pattern) return;
    const docs = top[i].slice(0, maxK);
    const found = answerRanks(docs, text, pattern);
    for (const d of docs) {
      if (!seen.has(d) && text(d) === undefined) missingTexts++;
      seen.add(d);
    }
    const entry: AnswerQuery = {
      id: q.id,
      kind: kindOf(q),
      task: q.task,
      answer: q.answer!,
      completionHasAnswer: pattern.test(q.completion),
      hit: ladder.map((k) => found.ranks.some((r) => r <= k)),
      firstRank: found.ranks[0] ?? null,
      ranks: found.ranks.slice(0, MAX_RANKS_REPORTED),
      occurrences: found.ranks.length,
    };
    const steps = (q.steps ?? []).filter((s) => typeof s === 'string' && s.trim() !== '');
    if (steps.length) {
      entry.steps = steps.map((step) => {
        const p = answerPattern(step)!;
        const r = answerRanks(docs, text, p).ranks;
        return { step, hit: ladder.map((k) => r.some((x) => x <= k)), firstRank: r[0] ?? null };
      });
    }
    perQuery.push(entry);
  });
  const byKind: Record<string, AnswerSummary> = {};
  const byTask: Record<string, AnswerSummary> = {};
  for (const kind of orderedKinds(queries)) {
    const ofKind = perQuery.filter((q) => q.kind === kind);
    if (!ofKind.length) continue;
    byKind[kind] = summarizeAnswers(ofKind, ladder);
    const tasks = [...new Set(ofKind.filter((q) => q.task !== null).map((q) => q.task as string))].sort();
    for (const task of tasks)
      byTask[taskKey(kind, task)] = summarizeAnswers(
        ofKind.filter((q) => q.task === task),
        ladder,
      );
  }
  return { available: true, ks: ladder, perQuery, byKind, byTask, missingTexts };
}
