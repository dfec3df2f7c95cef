/**
 * `influence-lens eval facts`: every method's scores for the queries (model's own completions, prepared
 * once), then fact tracing against the labels; the report is written to `<work>/facts.json`.
 */
import { createReadStream, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import type { ModelRun } from '../runs/modelRun';
import type { RunHooks } from '../runs/progress';
import { prepareQueries } from '../runs/queries';
import { writeTextAtomically } from '../util/atomic';
import { TOOL_VERSION } from '../version';
import { attribute, type Attributions } from './attribute';
import { completionLosses, setPoolParams } from './ldsTrain';
import { cacheKey } from './scoreCache';
import { corpusFingerprint } from '../corpus/fingerprint';
import { writeResults } from '../results/io';
import { DEFAULT_COMPLETION_RULE, resultsQuery, type CompletionRule, type PreparedQuery } from '../score/queries';
import { factTracing, type FactsReport } from './facts';
import { readLabels } from './labels';
import type { Method } from './methods';

export interface FactsRequest {
  corpus: CorpusOptions;
  queries: QueryRecord[];
  labels: string;
  work: string;
  methods: Method[];
  maxLen: number;
  /** Evaluate on the first N documents of a JSONL corpus only (a reduced run). */
  maxDocs?: number;
  rerank: number;
  maxNewTokens?: number;
  /** Where the model's greedy completions end (default `firstLine`, its answer: score/queries.ts CompletionRule). */
  completion?: CompletionRule;
}

export interface FactsRun {
  report: FactsReport & {
    tool: string;
    createdAt: string;
    model: string;
    corpus: string;
    maxLen: number;
    backend: string;
    threads: number;
    resultsDir?: string;
  };
  /** facts.json */
  path: string;
}

export async function runFactTracing(run: ModelRun, r: FactsRequest, hooks: RunHooks = {}): Promise<FactsRun> {
  const labels = readLabels(r.labels);
  mkdirSync(r.work, { recursive: true });
  const corpus =
    r.maxDocs === undefined ? r.corpus : { ...r.corpus, path: await firstLines(r.corpus.path, r.maxDocs, join(r.work, `corpus-first-${r.maxDocs}.jsonl`)) };
  const prepared = await factsQueries(run, r, hooks);
  const a = await attribute(run, { corpus, queries: prepared, methods: r.methods, work: r.work, maxLen: r.maxLen, rerank: r.rerank }, hooks);
  const resultsDir = a.scores.has('ekfac-sampled')
    ? await writeMethodResults(run, corpus, prepared, a, 'ekfac-sampled', join(r.work, 'results-ekfac-sampled'), r.maxLen)
    : undefined;
  const report = {
    tool: TOOL_VERSION,
    createdAt: new Date().toISOString(),
    model: run.options.model,
    corpus: corpus.path,
    maxLen: r.maxLen,
    backend: run.backend.name,
    threads: run.pool.size,
    resultsDir,
    ...factTracing(a, prepared, labels),
  };
  const path = join(r.work, 'facts.json');
  writeTextAtomically(path, JSON.stringify(report, null, 1) + '\n');
  return { report, path };
}

/**
 * The queries with the model's own completions under the completion rule (`score`'s and the hover's), generated
 * once and kept in `<work>/queries.json` (keyed by model, query file, lengths and rule): generating is the slow
 * part of preparing queries on a CPU.
 */
export async function factsQueries(
  run: ModelRun,
  r: Pick<FactsRequest, 'queries' | 'work' | 'maxLen' | 'maxNewTokens' | 'completion'>,
  hooks: RunHooks = {},
): Promise<PreparedQuery[]> {
  const file = join(r.work, 'queries.json');
  const completion = r.completion ?? DEFAULT_COMPLETION_RULE;
  const key = cacheKey({
    model: (await run.modelId()).fingerprint,
    queries: r.queries.map(({ file: _f, line: _l, ...q }) => q),
    maxLen: r.maxLen,
    maxNewTokens: r.maxNewTokens,
    completion,
  });
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as { key: string; queries: PreparedQuery[] };
    if (saved.key === key) return saved.queries;
  }
  const prepared = await prepareQueries(run, r.queries, { maxLen: r.maxLen, maxNewTokens: r.maxNewTokens, completion }, hooks);
  writeTextAtomically(file, JSON.stringify({ key, queries: prepared.queries }) + '\n');
  return prepared.queries;
}

/** One method's scores as a results folder (docs/RESULTS.md), for `influence-lens analyze`. */
async function writeMethodResults(
  run: ModelRun,
  corpus: CorpusOptions,
  queries: PreparedQuery[],
  a: Attributions,
  method: Method,
  dir: string,
  maxLen: number,
): Promise<string> {
  await setPoolParams(run.pool, run.checkpoint);
  const nll = await completionLosses(
    run.pool,
    queries.map((q) => ({ prompt: q.promptTokens, completion: q.completionTokens })),
  );
  const modelId = await run.modelId();
  writeResults(
    dir,
    {
      tool: TOOL_VERSION,
      createdAt: new Date().toISOString(),
      model: modelId,
      corpus: { path: corpus.path, fingerprint: await corpusFingerprint(corpus), documents: a.documents.length, skipped: 0, skippedIssues: [] },
      factors: { path: join(dirname(dir), 'factors-ekfac-sampled'), strategy: 'ekfac', fisher: 'sampled', documents: null, tokens: null },
      strategy: 'ekfac',
      damping: {},
      rank: null,
      method: { scoring: 'exact', contraction: {}, maxLen, shard: null },
      documents: a.documents.map((d) => ({ ...d, tokens: 0, file: corpus.path })),
      queries: queries.map((q, i) => resultsQuery(q, nll[i])),
    },
    a.scores.get(method)!,
  );
  return dir;
}

/** The first `n` non-blank lines of a JSONL corpus, written to `out` (reused by later runs: same bytes). */
async function firstLines(path: string, n: number, out: string): Promise<string> {
  if (!path.endsWith('.jsonl')) throw new InfluenceLensError('INVALID_OPTION', `--max-docs needs a JSONL corpus, got ${path}`, { file: path });
  const lines: string[] = [];
  const rl = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of rl) {
    if (line.trim() === '') continue;
    lines.push(line);
    if (lines.length >= n) break;
  }
  rl.close();
  writeTextAtomically(out, lines.join('\n') + '\n');
  return out;
}
