/**
 * `influence-lens eval facts`: every method's scores for the queries (model's own completions, prepared
 * once), then fact tracing against the labels; the report is written to `<work>/facts.json`.
 */
import { createReadStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { QueryRecord } from '../queries/types';
import type { ModelRun } from '../runs/modelRun';
import type { RunHooks } from '../runs/progress';
import { prepareQueries } from '../runs/queries';
import { writeTextAtomically } from '../util/atomic';
import { TOOL_VERSION } from '../version';
import { attribute } from './attribute';
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
}

export interface FactsRun {
  report: FactsReport & { tool: string; createdAt: string; model: string; corpus: string; maxLen: number; backend: string; threads: number };
  /** facts.json */
  path: string;
}

export async function runFactTracing(run: ModelRun, r: FactsRequest, hooks: RunHooks = {}): Promise<FactsRun> {
  const labels = readLabels(r.labels);
  mkdirSync(r.work, { recursive: true });
  const corpus = r.maxDocs === undefined ? r.corpus : { ...r.corpus, path: await firstLines(r.corpus.path, r.maxDocs, join(r.work, `corpus-first-${r.maxDocs}.jsonl`)) };
  const prepared = await prepareQueries(run, r.queries, { maxLen: r.maxLen, maxNewTokens: r.maxNewTokens }, hooks);
  const a = await attribute(run, { corpus, queries: prepared.queries, methods: r.methods, work: r.work, maxLen: r.maxLen, rerank: r.rerank }, hooks);
  const report = {
    tool: TOOL_VERSION,
    createdAt: new Date().toISOString(),
    model: run.options.model,
    corpus: corpus.path,
    maxLen: r.maxLen,
    backend: run.backend.name,
    threads: run.pool.size,
    ...factTracing(a, prepared.queries, labels),
  };
  const path = join(r.work, 'facts.json');
  writeTextAtomically(path, JSON.stringify(report, null, 1) + '\n');
  return { report, path };
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
