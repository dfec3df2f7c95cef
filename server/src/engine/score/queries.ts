/**
 * Queries as token sequences: [BOS] + tokenize(prompt) + tokenize(completion), the completion tokenized
 * on its own (docs/EKFAC.md). A query without a completion gets the model's own greedy one, as in the paper.
 */
import type { ComputePool, Priority } from '../backend/pool';
import type { CaptureSequence } from '../capture/types';
import type { LineEndTokens } from '../inference/generate';
import { InfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import type { Tokenizer } from '../tokenizer/types';
import type { ResultsQuery } from '../results/types';

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
  return { id: r.id, kind: r.kind ?? null, task: r.task ?? null, prompt: r.prompt, completion: q.completion, generated: q.generated, answer: r.answer ?? null, nllNats, promptTokens: q.promptTokens, completionTokens: q.completionTokens };
}

export interface ResolveOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  stopIds: number[];
  /** Greedy completions end with their first line of content (absent: at a stop token or the budget). */
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
    throw new InfluenceLensError('QUERY_TOO_LONG', `query "${record.id}": the prompt has ${promptTokens.length} tokens; at most ${o.maxLen - 1} fit the maximum length ${o.maxLen}`, where);
  }
  let completionTokens: number[];
  let completion: string;
  if (generated) {
    const budget = Math.min(o.maxNewTokens, o.maxLen - promptTokens.length);
    completionTokens = await o.pool.run({ kind: 'generate', prompt: promptTokens, maxNewTokens: budget, stopIds: o.stopIds, lineEnd: o.lineEnd }, { priority: o.priority, signal: o.signal });
    completion = o.tokenizer.decode(completionTokens, promptTokens[promptTokens.length - 1]);
    if (completionTokens.length === 0) {
      throw new InfluenceLensError('QUERY_EMPTY', `query "${record.id}": the model's greedy completion is empty (it stopped at once); give a completion`, where);
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

/** The query as a capture sequence whose targets are the completion tokens only. */
export function querySequence(q: PreparedQuery): CaptureSequence {
  const tokens = [...q.promptTokens, ...q.completionTokens];
  return { tokens, targets: tokens.map((_, j) => (j >= q.promptTokens.length ? 1 : 0)) };
}
