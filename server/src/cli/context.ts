/** What every model-running command shares: the opened model, the compute pool, progress and Ctrl-C. */
import { describeAdapter, describeBackend, parseBackendRequest } from '../engine/backend/backend';
import { ComputePool } from '../engine/backend/pool';
import type { CorpusOptions } from '../engine/corpus/types';
import { openModel, type OpenedModel } from '../engine/model/openModel';
import { int, optStr, str, UsageError, type Values } from './args';
import { loadFactors, type LoadedFactors } from '../engine/ekfac/load';
import { readManifest } from '../engine/ekfac/store';
import { InfluenceLensError } from '../engine/errors';
import { fingerprintCheckpoint } from '../engine/model/load';
import { ProgressBar } from './progress';

export interface RunContext extends OpenedModel {
  pool: ComputePool;
  progress: ProgressBar;
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface ModelRun {
  /** Worker threads; undefined: one per core for wasm/cpu. */
  workers?: number;
  modules?: string[];
}

export async function withModel<T>(v: Values, signal: AbortSignal, run: ModelRun, fn: (ctx: RunContext) => Promise<T>): Promise<T> {
  const quiet = v.quiet === true;
  const log = (line: string) => {
    if (!quiet) process.stderr.write(`influence-lens: ${line}\n`);
  };
  const opened = await openModel(str(v, 'model'), optStr(v, 'tokenizer'));
  const pool = await ComputePool.create(opened.checkpoint, {
    backend: parseBackendRequest(optStr(v, 'backend')),
    workers: int(v, 'workers', { min: 0 }) ?? run.workers,
    modules: run.modules,
  });
  log(`backend ${describeBackend(pool.backend)}, ${pool.size} compute thread(s)`);
  if (v.verbose === true) log(`${describeAdapter(pool.backend.adapter)}; ${pool.batchSize} sequences per batch unless --batch-size`);
  const progress = new ProgressBar(process.stderr, !quiet);
  try {
    return await fn({ ...opened, pool, progress, signal, log });
  } finally {
    progress.done();
    await pool.dispose();
  }
}

/** Reports skipped corpus lines as file:line: reason (the first few). */
export function logSkipped(log: (line: string) => void, issues: { file: string; line?: number; reason: string }[], count: number): void {
  log(`skipped ${count} malformed corpus ${count === 1 ? 'entry' : 'entries'}:`);
  for (const i of issues.slice(0, 10)) log(`  ${i.file}${i.line ? `:${i.line}` : ''}: ${i.reason}`);
  if (count > 10) log(`  … and ${count - 10} more`);
}

export interface FactorRun extends RunContext {
  factors: LoadedFactors;
  /** The running model's identity, as recorded in results and indexes. */
  modelId: { fingerprint: string; path: string; architecture: string };
  /** --max-len, defaulting to the length the factors were fitted with. */
  maxLen: number;
}

/** withModel for commands that use fitted factors: tracks the factors' modules and checks they fit the model. */
export async function withFactors<T>(v: Values, signal: AbortSignal, factorsDir: string, fn: (ctx: FactorRun) => Promise<T>): Promise<T> {
  const manifest = readManifest(factorsDir);
  if (!manifest) throw new InfluenceLensError('NOT_FOUND', `no factors in ${factorsDir} (run influence-lens fit first)`, { file: factorsDir });
  return withModel(v, signal, { modules: manifest.settings.modules }, async (m) => {
    const modelId = { fingerprint: await fingerprintCheckpoint(m.checkpoint), path: str(v, 'model'), architecture: m.checkpoint.config.architecture };
    const factors = await loadFactors(factorsDir, { model: modelId });
    const maxLen = int(v, 'max-len', { min: 2 }) ?? manifest.settings.maxLen;
    if (maxLen > m.checkpoint.config.maxSeqLen) throw new UsageError(`--max-len ${maxLen} exceeds the model's context of ${m.checkpoint.config.maxSeqLen}`);
    return fn({ ...m, factors, modelId, maxLen });
  });
}

export function corpusOptions(v: Values): CorpusOptions {
  return {
    path: str(v, 'corpus'),
    textField: optStr(v, 'text-field'),
    idField: optStr(v, 'id-field'),
    sourceField: optStr(v, 'source-field'),
  };
}
