/** `analyze`: the paper's analyses of a results folder → RESULTS/analysis.json and a headline table on stdout. */
import { type AnalysisReport, headlineTable, runAnalysis, safeForTerminal } from '../engine/api';
import { COMMON_OPTIONS, int, optStr, parse, str, UsageError, type Values } from './args';

export interface AnalyzeIo {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

export async function analyze(argv: string[], signal: AbortSignal): Promise<void> {
  await runAnalyze(argv, signal, { stdout: process.stdout, stderr: process.stderr });
}

/** The command with its output streams given (tests); returns the report it wrote. */
export async function runAnalyze(argv: string[], signal: AbortSignal, io: AnalyzeIo): Promise<AnalysisReport> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    results: { type: 'string' },
    top: { type: 'string', multiple: true },
    corpus: { type: 'string' },
    'text-field': { type: 'string' },
    'id-field': { type: 'string' },
    'source-field': { type: 'string' },
    permutations: { type: 'string', default: '1000' },
    seed: { type: 'string', default: '0' },
  });
  const log = (line: string) => v.quiet || io.stderr.write(`influence-lens: ${safeForTerminal(line, { multiline: true })}\n`);
  const { report, path } = await runAnalysis(
    {
      results: str(v, 'results'),
      ks: topKs(v),
      permutations: int(v, 'permutations', { min: 0 }),
      seed: int(v, 'seed', { min: 0 }),
      corpus: { path: optStr(v, 'corpus'), textField: optStr(v, 'text-field'), idField: optStr(v, 'id-field'), sourceField: optStr(v, 'source-field') },
    },
    { signal, log },
  );
  io.stdout.write(safeForTerminal(headlineTable(report), { multiline: true }));
  log(`wrote ${path}`);
  return report;
}

/** --top K (repeatable, or comma-separated). */
function topKs(v: Values): number[] | undefined {
  const raw = v.top as string[] | undefined;
  if (!raw || raw.length === 0) return undefined;
  return raw
    .flatMap((s) => s.split(','))
    .map((s) => {
      const k = Number(s.trim());
      if (!Number.isInteger(k) || k < 1) throw new UsageError(`--top must be a positive integer, got "${s}"`);
      return k;
    });
}
