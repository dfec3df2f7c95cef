/** `analyze`: the paper's analyses of a results folder → RESULTS/analysis.json and a headline table on stdout. */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { analyze as analyzeResults, documentsNeeded, writeAnalysis, type AnalysisReport } from '../engine/analysis/analyze';
import { headlineTable } from '../engine/analysis/headline';
import { readCorpus } from '../engine/corpus/corpus';
import type { CorpusOptions } from '../engine/corpus/types';
import { readResults } from '../engine/results/io';
import type { LoadedResults } from '../engine/results/types';
import { prepareOutput } from '../engine/util/output';
import { safeForTerminal } from '../engine/util/terminal';
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
  const dir = str(v, 'results');
  const ks = topKs(v);
  const permutations = int(v, 'permutations', { min: 0 })!;
  const seed = int(v, 'seed', { min: 0 })!;
  const loaded = readResults(dir);
  prepareOutput(dir, 'results'); // analysis.json goes beside the results: writable, checked before the work
  const { queries, documents } = loaded.results;
  log(`analysing ${queries.length} queries × ${documents.length} documents in ${dir}`);

  const texts = await documentTexts(loaded, v, ks, signal, log);
  const report = analyzeResults(loaded, { ks, permutations, seed, ...texts });
  const path = writeAnalysis(dir, report);
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

/** The scored corpus: --corpus, else results.corpus.path (relative: to the working folder, then to the results folder). */
function corpusPath(loaded: LoadedResults, v: Values): string | undefined {
  const given = optStr(v, 'corpus');
  if (given) return given;
  const recorded = loaded.results.corpus.path;
  if (!recorded) return undefined;
  if (isAbsolute(recorded) || existsSync(recorded)) return recorded;
  const beside = resolve(loaded.dir, recorded);
  return existsSync(beside) ? beside : recorded;
}

/**
 * Reads the text of the documents the answer analysis needs, checking that each one is the document
 * that was scored (same id and source at that index): a changed corpus would give wrong texts.
 */
async function documentTexts(
  loaded: LoadedResults,
  v: Values,
  ks: number[] | undefined,
  signal: AbortSignal,
  log: (line: string) => void,
): Promise<{ text?: (index: number) => string | undefined; noTextReason?: string }> {
  const need = documentsNeeded(loaded, { ks });
  if (need.size === 0) return { noTextReason: 'no query has an answer' };
  const path = corpusPath(loaded, v);
  if (!path || !existsSync(path)) {
    const reason = `corpus not found: ${path ?? '(none recorded)'}; pass --corpus`;
    log(`answer analysis skipped (${reason})`);
    return { noTextReason: reason };
  }
  const options: CorpusOptions = { path, textField: optStr(v, 'text-field'), idField: optStr(v, 'id-field'), sourceField: optStr(v, 'source-field') };
  const scored = new Map(loaded.results.documents.map((d) => [d.index, d]));
  let last = 0;
  for (const i of need) last = Math.max(last, i);
  const texts = new Map<number, string>();
  let mismatched = 0;
  log(`reading the text of ${need.size} top documents from ${path}`);
  for await (const doc of readCorpus(options, undefined, signal)) {
    if (need.has(doc.index)) {
      const s = scored.get(doc.index)!;
      if (s.id !== doc.id || s.source !== doc.source) mismatched++;
      else texts.set(doc.index, doc.text);
    }
    if (doc.index >= last) break;
  }
  if (mismatched > 0 || texts.size < need.size) {
    const reason = `the corpus at ${path} is not the one scored (${mismatched} documents differ in id or source, ${need.size - texts.size - mismatched} missing); pass --corpus (and --text-field etc. as for score)`;
    log(`answer analysis skipped: ${reason}`);
    return { noTextReason: reason };
  }
  return { text: (i) => texts.get(i) };
}
