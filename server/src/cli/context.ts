/** What every model-running command shares: the opened model, the compute pool, progress and Ctrl-C. */
import { parseBackendRequest } from '../engine/backend/backend';
import { ComputePool } from '../engine/backend/pool';
import type { CorpusOptions } from '../engine/corpus/types';
import { openModel, type OpenedModel } from '../engine/model/openModel';
import { int, optStr, str, type Values } from './args';
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
  log(`backend ${pool.backend.name} (${pool.backend.reason}), ${pool.size} compute thread(s)`);
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

export function corpusOptions(v: Values): CorpusOptions {
  return {
    path: str(v, 'corpus'),
    textField: optStr(v, 'text-field'),
    idField: optStr(v, 'id-field'),
    sourceField: optStr(v, 'source-field'),
  };
}
