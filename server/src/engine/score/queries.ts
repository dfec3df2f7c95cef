/**
 * Queries as token sequences: [BOS] + tokenize(prompt) + tokenize(completion), the completion tokenized
 * on its own (docs/EKFAC.md). A query without a completion gets the model's own greedy one, as in the paper.
 */
import type { ComputePool } from '../backend/pool';
import type { CaptureSequence } from '../capture/types';
import { InfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import type { Tokenizer } from '../tokenizer/types';

export interface PreparedQuery {
  record: QueryRecord;
  completion: string;
  /** Whether the completion is the model's own greedy generation. */
  generated: boolean;
  /** [BOS] + prompt tokens. */
  promptTokens: number[];
  completionTokens: number[];
}

export interface ResolveOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  stopIds: number[];
  maxNewTokens: number;
  maxLen: number;
  signal?: AbortSignal;
  onQuery?: (done: number, total: number) => void;
}

export async function resolveQueries(records: QueryRecord[], o: ResolveOptions): Promise<PreparedQuery[]> {
  const out: PreparedQuery[] = [];
  for (const record of records) {
    o.signal?.throwIfAborted();
    const promptTokens = [o.bos, ...o.tokenizer.encode(record.prompt)];
    const where = { file: record.file, line: record.line };
    if (promptTokens.length >= o.maxLen) {
      throw new InfluenceLensError('QUERY_TOO_LONG', `query "${record.id}": the prompt has ${promptTokens.length} tokens; at most ${o.maxLen - 1} fit the maximum length ${o.maxLen}`, where);
    }
    let completionTokens: number[];
    let completion: string;
    const generated = record.completion === undefined;
    if (generated) {
      const budget = Math.min(o.maxNewTokens, o.maxLen - promptTokens.length);
      completionTokens = await o.pool.run({ kind: 'generate', prompt: promptTokens, maxNewTokens: budget, stopIds: o.stopIds });
      completion = o.tokenizer.decode(completionTokens, promptTokens[promptTokens.length - 1]);
      if (completionTokens.length === 0) {
        throw new InfluenceLensError('QUERY_EMPTY', `query "${record.id}": the model's greedy completion is empty (it stopped at once); give a completion`, where);
      }
    } else {
      completion = record.completion!;
      completionTokens = o.tokenizer.encode(completion);
    }
    if (promptTokens.length + completionTokens.length > o.maxLen) {
      throw new InfluenceLensError(
        'QUERY_TOO_LONG',
        `query "${record.id}": prompt + completion are ${promptTokens.length + completionTokens.length} tokens; the maximum length is ${o.maxLen}`,
        where,
      );
    }
    out.push({ record, completion, generated, promptTokens, completionTokens });
    o.onQuery?.(out.length, records.length);
  }
  return out;
}

/** The query as a capture sequence whose targets are the completion tokens only. */
export function querySequence(q: PreparedQuery): CaptureSequence {
  const tokens = [...q.promptTokens, ...q.completionTokens];
  return { tokens, targets: tokens.map((_, j) => (j >= q.promptTokens.length ? 1 : 0)) };
}
