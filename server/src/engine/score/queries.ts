/**
 * Queries as token sequences: [BOS] + tokenize(prompt) + tokenize(completion), the completion tokenized
 * on its own (docs/EKFAC.md). A query without a completion gets the model's own greedy one, as in the paper,
 * ended by the one completion rule every caller shares (CompletionRule).
 */
import type { ScorePool } from './tasks';
import type { Priority } from '../worker/taskPool';
import type { CaptureSequence } from '../capture/types';
import type { LineEndTokens } from '../inference/generate';
import { InfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import type { Tokenizer } from '../tokenizer/types';
import type { ResultsQuery } from '../results/types';

/**
 * Where a greedy completion ends: one rule for `score`, `eval`, `npm run demo`, batch runs, hovers and the
 * panel, so the same query is attributed on the same text everywhere.
 *
 * - `firstLine` (the default): the model's answer. The completion ends with its first line of content; for a
 *   reasoning query (kind `reasoning`), with the line that gives the answer ("The answer is …"), the worked
 *   steps before it included (the whole continuation when no such line comes within the budget). A small
 *   model goes on after answering — the next Q&A pair, the next exercise — and the gradient of that
 *   continuation would drown the answer's. A query without a kind (a selection) ends with its first line.
 * - `full`: up to an end-of-text token or the budget (`--full-completions`, `influenceLens.completion: full`).
 *
 * A line ends where the first-line stop of generation ends it (inference/generate.ts): before a
 * whitespace-only token with a newline, after a token with content and a newline. The tokens are the
 * model's own greedy tokens, never re-tokenized text.
 */
export type CompletionRule = 'firstLine' | 'full';

export const DEFAULT_COMPLETION_RULE: CompletionRule = 'firstLine';

/** What the line that gives a reasoning query's answer contains (the step-by-step format's last line). */
export const ANSWER_LINE = /The answer is/;

export interface PreparedQuery {
  record: QueryRecord;
  completion: string;
  /** Whether the completion is the model's own greedy generation. */
  generated: boolean;
  /** [BOS] + prompt tokens. */
  promptTokens: number[];
  completionTokens: number[];
  /** Set when the prompt was cut to its last tokens to fit (PrepareOptions.truncatePrompt): its length before. */
  truncatedFrom?: number;
}

/** A prepared query as results.json records it. */
export function resultsQuery(q: PreparedQuery, nllNats: number): ResultsQuery {
  const r = q.record;
  return {
    id: r.id,
    kind: r.kind ?? null,
    task: r.task ?? null,
    prompt: r.prompt,
    completion: q.completion,
    generated: q.generated,
    answer: r.answer ?? null,
    nllNats,
    promptTokens: q.promptTokens,
    completionTokens: q.completionTokens,
  };
}

export interface ResolveOptions {
  pool: ScorePool;
  tokenizer: Tokenizer;
  bos: number;
  stopIds: number[];
  /**
   * The vocabulary's line ends. Given: greedy completions follow the `firstLine` rule (CompletionRule);
   * absent: the `full` rule (a stop token or the budget).
   */
  lineEnd?: LineEndTokens;
  maxNewTokens: number;
  maxLen: number;
  signal?: AbortSignal;
  onQuery?: (done: number, total: number) => void;
}

export interface PrepareOptions extends ResolveOptions {
  /** Keep the last tokens of a prompt too long for the maximum length instead of refusing it. */
  truncatePrompt?: boolean;
  /** Priority of the greedy generation on the compute threads. */
  priority?: Priority;
}

/** Every query prepared, in order; the first that cannot be (too long, empty completion) is thrown. */
export async function resolveQueries(records: QueryRecord[], o: ResolveOptions): Promise<PreparedQuery[]> {
  const out: PreparedQuery[] = [];
  for (const record of records) {
    out.push(await prepareQuery(record, o));
    o.onQuery?.(out.length, records.length);
  }
  return out;
}

/**
 * One query as tokens, its completion generated greedily when absent. Errors (QUERY_TOO_LONG, QUERY_EMPTY)
 * name the query's file and line.
 */
export async function prepareQuery(record: QueryRecord, o: PrepareOptions): Promise<PreparedQuery> {
  o.signal?.throwIfAborted();
  const where = { file: record.file, line: record.line };
  let promptTokens = [o.bos, ...o.tokenizer.encode(record.prompt)];
  let truncatedFrom: number | undefined;
  const generated = record.completion === undefined;
  const completionGiven = generated ? [] : o.tokenizer.encode(record.completion!);
  // Room the completion needs when the prompt is cut: its own tokens, or a quarter of the length to generate in.
  const room = Math.max(1, generated ? Math.min(o.maxNewTokens, Math.floor(o.maxLen / 4)) : completionGiven.length);
  if (o.truncatePrompt && promptTokens.length + room > o.maxLen && o.maxLen - room >= 2) {
    truncatedFrom = promptTokens.length;
    promptTokens = [o.bos, ...promptTokens.slice(promptTokens.length - (o.maxLen - room - 1))];
  }
  if (promptTokens.length >= o.maxLen) {
    throw new InfluenceLensError(
      'QUERY_TOO_LONG',
      `query "${record.id}": the prompt has ${promptTokens.length} tokens; at most ${o.maxLen - 1} fit the maximum length ${o.maxLen}`,
      where,
    );
  }
  let completionTokens: number[];
  let completion: string;
  if (generated) {
    const budget = Math.min(o.maxNewTokens, o.maxLen - promptTokens.length);
    completionTokens = await greedyCompletion(record, promptTokens, budget, o);
    completion = o.tokenizer.decode(completionTokens, promptTokens[promptTokens.length - 1]);
    if (completionTokens.length === 0) {
      throw new InfluenceLensError(
        'QUERY_EMPTY',
        `query "${record.id}": the model's greedy completion is empty (it stopped at once); give a completion`,
        where,
      );
    }
  } else {
    completion = record.completion!;
    completionTokens = completionGiven;
  }
  if (promptTokens.length + completionTokens.length > o.maxLen) {
    throw new InfluenceLensError(
      'QUERY_TOO_LONG',
      `query "${record.id}": prompt + completion are ${promptTokens.length + completionTokens.length} tokens; the maximum length is ${o.maxLen}`,
      where,
    );
  }
  const q: PreparedQuery = { record, completion, generated, promptTokens, completionTokens };
  if (truncatedFrom !== undefined) q.truncatedFrom = truncatedFrom;
  return q;
}

/** The model's greedy completion of the prompt under the completion rule (CompletionRule). */
async function greedyCompletion(record: QueryRecord, promptTokens: number[], budget: number, o: PrepareOptions): Promise<number[]> {
  const generate = (lineEnd?: LineEndTokens) =>
    o.pool.run({ kind: 'generate', prompt: promptTokens, maxNewTokens: budget, stopIds: o.stopIds, lineEnd }, { priority: o.priority, signal: o.signal });
  if (!o.lineEnd) return generate();
  // The first line of content ends generation itself (a hover waits for a few tokens, not the budget).
  if (record.kind !== 'reasoning') return generate(o.lineEnd);
  const prev = promptTokens[promptTokens.length - 1];
  return throughAnswerLine(await generate(), o.lineEnd, (ids) => o.tokenizer.decode(ids, prev));
}

/**
 * A reasoning query's greedy tokens cut at the end of the line that gives its answer (ANSWER_LINE), the line
 * ended as the first-line stop ends one; unchanged when no such line comes.
 */
export function throughAnswerLine(tokens: number[], lineEnd: LineEndTokens, decode: (ids: number[]) => string): number[] {
  let from = 0;
  while (from < tokens.length && !ANSWER_LINE.test(decode(tokens.slice(0, from + 1)))) from++;
  if (from >= tokens.length) return tokens;
  const newline = new Set(lineEnd.newline);
  const blank = new Set(lineEnd.blank);
  for (let i = from + 1; i < tokens.length; i++) {
    if (newline.has(tokens[i])) return tokens.slice(0, blank.has(tokens[i]) ? i : i + 1);
  }
  return tokens;
}

/** The query as a capture sequence whose targets are the completion tokens only. */
export function querySequence(q: PreparedQuery): CaptureSequence {
  const tokens = [...q.promptTokens, ...q.completionTokens];
  return { tokens, targets: tokens.map((_, j) => (j >= q.promptTokens.length ? 1 : 0)) };
}
