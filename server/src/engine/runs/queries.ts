/**
 * Queries prepared for a run: a query that cannot be scored (longer than the maximum length, an empty
 * greedy completion) is reported with its file and line and skipped; the others go on.
 */
import { isInfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import { DEFAULT_COMPLETION_RULE, prepareQuery, type CompletionRule, type PreparedQuery } from '../score/queries';
import { DEFAULT_MAX_NEW_TOKENS } from './defaults';
import type { ModelRun } from './modelRun';
import { stageProgress, type RunHooks } from './progress';

/** A query left out of a run, and why. */
export interface SkippedQuery {
  id: string;
  file: string;
  line: number;
  reason: string;
}

export interface PreparedQueries {
  queries: PreparedQuery[];
  skipped: SkippedQuery[];
}

/** Codes of queries that are skipped (reported) rather than failing the whole run. */
const SKIPPABLE = new Set(['QUERY_TOO_LONG', 'QUERY_EMPTY']);

export async function prepareQueries(run: ModelRun, records: QueryRecord[], o: QueryOptions, hooks: RunHooks = {}): Promise<PreparedQueries> {
  const progress = stageProgress(hooks, 'queries');
  const out: PreparedQueries = { queries: [], skipped: [] };
  for (const record of records) {
    try {
      out.queries.push(await prepareQuery(record, { ...queryOptions(run, o), signal: hooks.signal }));
    } catch (e) {
      if (!isInfluenceLensError(e) || !SKIPPABLE.has(e.code)) throw e;
      out.skipped.push({ id: record.id, file: record.file, line: record.line, reason: e.message });
      hooks.log?.(`${record.file}:${record.line}: skipped: ${e.message}`);
    }
    progress({ done: out.queries.length + out.skipped.length, total: records.length });
  }
  return out;
}

export interface QueryOptions {
  maxLen: number;
  maxNewTokens?: number;
  /** Where greedy completions end (default `firstLine`: the model's answer; `full`: the whole continuation). */
  completion?: CompletionRule;
}

/** What prepareQuery needs from a model run: every adapter's completions go through here, under one rule. */
export function queryOptions(run: ModelRun, o: QueryOptions) {
  return {
    pool: run.pool,
    tokenizer: run.tokenizer,
    bos: run.bos,
    stopIds: run.stopIds,
    lineEnd: (o.completion ?? DEFAULT_COMPLETION_RULE) === 'firstLine' ? run.lineEnd : undefined,
    maxNewTokens: o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
    maxLen: o.maxLen,
  };
}
