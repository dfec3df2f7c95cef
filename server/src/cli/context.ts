/** What every model-running command shares: the opened model run, progress on stderr, notes and Ctrl-C. */
import {
  type CorpusOptions,
  describeAdapter,
  describeBackend,
  type FactorSet,
  ModelRun,
  openFactorSet,
  parseBackendRequest,
  plausibilityWarning,
  type RunHooks,
  safeForTerminal,
} from '../engine/api';
import { int, optStr, str, type Values } from './args';
import { ProgressBar } from './progress';

export interface CliRun {
  run: ModelRun;
  /** Progress bar, log and signal for the facade's runs. */
  hooks: RunHooks & { log: (line: string) => void };
  progress: ProgressBar;
}

export async function withModel<T>(v: Values, signal: AbortSignal, o: { workers?: number; modules?: string[] }, fn: (c: CliRun) => Promise<T>): Promise<T> {
  const quiet = v.quiet === true;
  const progress = new ProgressBar(process.stderr, !quiet);
  const log = (line: string) => {
    if (quiet) return;
    progress.done();
    process.stderr.write(`influence-lens: ${safeForTerminal(line, { multiline: true })}\n`);
  };
  const run = await ModelRun.open({
    model: str(v, 'model'),
    tokenizer: optStr(v, 'tokenizer'),
    backend: parseBackendRequest(optStr(v, 'backend')),
    workers: int(v, 'workers', { min: 0 }) ?? o.workers,
    modules: o.modules,
  });
  log(`backend ${describeBackend(run.backend)}, ${run.pool.size} compute thread(s)`);
  if (v.verbose === true) log(`${describeAdapter(run.backend.adapter)}; ${run.pool.batchSize} sequences per batch unless --batch-size`);
  if (run.pool.cappedFrom) log(`--workers ${run.pool.cappedFrom} capped at ${run.pool.size}, this machine's available parallelism`);
  try {
    if (!quiet) {
      const warning = await plausibilityWarning(run);
      if (warning) log(warning);
    }
    return await fn({ run, progress, hooks: { signal, log, onProgress: (p) => progress.update(p) } });
  } finally {
    progress.done();
    await run.dispose();
  }
}

/** withModel for commands that use fitted factors (--factors, --max-len). */
export async function withFactors<T>(v: Values, signal: AbortSignal, fn: (c: CliRun & { factors: FactorSet }) => Promise<T>): Promise<T> {
  return withModel(v, signal, {}, async (c) => fn({ ...c, factors: await openFactorSet(c.run, str(v, 'factors'), { maxLen: int(v, 'max-len', { min: 2 }) }) }));
}

export function corpusOptions(v: Values): CorpusOptions {
  return {
    path: str(v, 'corpus'),
    textField: optStr(v, 'text-field'),
    idField: optStr(v, 'id-field'),
    sourceField: optStr(v, 'source-field'),
  };
}
