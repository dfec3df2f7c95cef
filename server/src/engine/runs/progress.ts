/**
 * What every run of the facade reports while it works: one progress shape for fitting, scoring, index
 * builds and generation, a log for human notes, and the signal that cancels it. Adapters turn these into
 * a progress bar (CLI), LSP work-done progress (server) or nothing (tests).
 */

export interface RunProgress {
  /** What is running, for a label: "fit covariance", "query gradients", "scoring corpus", "index". */
  stage: string;
  /** Items finished in this stage (documents or queries). */
  done: number;
  /** Items this stage will process, when known. */
  total?: number;
  /** Tokens processed so far in this stage, for a tokens/s figure. */
  tokens?: number;
  elapsedMs: number;
}

export interface RunHooks {
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** Notes a person should read (skipped lines, stages reused from cache); never numbers to parse. */
  log?: (line: string) => void;
}

/** A progress reporter for one stage: elapsed time measured from its creation. */
export function stageProgress(hooks: RunHooks, stage: string): (p: Omit<RunProgress, 'stage' | 'elapsedMs'>) => void {
  const started = Date.now();
  return (p) => hooks.onProgress?.({ stage, ...p, elapsedMs: Date.now() - started });
}

/** "file:line: reason" (a Parquet issue: "file row N: reason") lines for the first issues of a list, and how many more there were. */
export function describeIssues(issues: { file: string; line?: number; row?: number; reason: string }[], count: number, max = 10): string[] {
  const lines = issues.slice(0, max).map((i) => `  ${i.file}${i.line ? `:${i.line}` : i.row !== undefined ? ` row ${i.row}` : ''}: ${i.reason}`);
  if (count > max) lines.push(`  … and ${count - max} more`);
  return lines;
}
