/**
 * The paper's analyses (docs: shared ANALYSES.md, 1–5) computed from a results folder into one
 * plain-JSON report, written as `analysis.json` beside `results.json`. Everything here is pure
 * computation over the score matrix; reading document text (for the answer analysis) is the
 * caller's business: pass a lookup by corpus document index (see {@link documentsNeeded}).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import type { LoadedResults } from '../results/types';
import { writeTextAtomically } from '../util/atomic';
import { FILE_LIMITS, readJsonBounded, readJsonBoundedAsync } from '../util/files';
import { TOOL_VERSION } from '../version';
import { answerAnalysis, answerLadder, answerPattern, type AnswerReport } from './answers';
import { correlationAnalysis, type CorrelationReport } from './correlations';
import { findings, type Finding } from './findings';
import { kindOf, orderedKinds, type QueryLabel } from './groups';
import { powerLawAnalysis, type PowerLawReport } from './powerLaw';
import { sourceAnalysis, sourceLadder, type SourceReport } from './sources';
import { bottomK, topK } from '../util/topK';
import { PERCENT_GRID, totalInfluenceAnalysis, type TotalInfluenceReport } from './totalInfluence';
import { artefactTime } from '../util/clock';

export const ANALYSIS_FILE = 'analysis.json';
export const ANALYSIS_VERSION = 1;

export interface AnalyzeOptions {
  /** Document text by corpus index (documents[].index); absent: the answer analysis is skipped. */
  text?: (index: number) => string | undefined;
  /** k for the answer and source analyses instead of their default ladders (capped at N). */
  ks?: readonly number[];
  /** Label permutations of the correlation test (default 1000). */
  permutations?: number;
  /** Seed of the permutation test (default 0). */
  seed?: number;
  /** Power law: documents fitted at most (default 500). */
  maxRank?: number;
  /** Total influence: the percent grid (5 and 100 are always added). */
  percents?: readonly number[];
  /** Why there is no text (reported when `text` is absent). */
  noTextReason?: string;
  /** Per query: corpus documents containing its answer (the base rate of the findings' answer rates). */
  answerCounts?: (number | null)[];
}

export interface AnalysisReport {
  version: typeof ANALYSIS_VERSION;
  tool: string;
  createdAt: string;
  results: { dir: string; createdAt: string; queries: number; documents: number; strategy: string; rank: number | null; corpus: string };
  /** Queries per kind, and per task within it. */
  kinds: Record<string, { queries: number; tasks: Record<string, number> }>;
  /** 1: Pearson r of raw scores, Q×Q, and group means with tests. */
  correlations: CorrelationReport;
  /** 2: α of score ∝ rank^α over the top per-nat scores. */
  powerLaw: PowerLawReport;
  /** 3: positive per-nat influence in the top p% of documents. */
  totalInfluence: TotalInfluenceReport;
  /** 4: the answer in the top k documents. */
  answers: AnswerReport | { available: false; reason: string };
  /** 5: source multipliers among the top and bottom k. */
  sources: SourceReport;
  /** The paper's quantitative claims beside the measured values, with base rates and tests. */
  findings: Finding[];
}

type StepsCarrier = { steps?: unknown };

function labelsOf(loaded: LoadedResults): QueryLabel[] {
  return loaded.results.queries.map((q) => ({ id: q.id, kind: q.kind, task: q.task }));
}

function stepsOf(q: StepsCarrier): string[] | undefined {
  return Array.isArray(q.steps) && q.steps.every((s) => typeof s === 'string') ? (q.steps as string[]) : undefined;
}

/** Raw score rows (views into the matrix, no copy). */
function rawRows(loaded: LoadedResults): Float32Array[] {
  const N = loaded.results.documents.length;
  return loaded.results.queries.map((_, q) => loaded.scores.subarray(q * N, (q + 1) * N));
}

/** Per-nat rows: raw ÷ nllNats (NaN throughout when nllNats is not positive). */
function perNatRows(loaded: LoadedResults, raw: Float32Array[]): Float64Array[] {
  return loaded.results.queries.map((q, i) => {
    const nats = q.nllNats;
    return nats > 0 && Number.isFinite(nats) ? Float64Array.from(raw[i], (v) => v / nats) : new Float64Array(raw[i].length).fill(NaN);
  });
}

function ladders(documents: number, ks?: readonly number[]): { answers: number[]; sources: number[] } {
  if (ks && ks.length) {
    const capped = [...new Set(ks.map((k) => Math.max(1, Math.min(documents, Math.floor(k)))))].sort((a, b) => a - b);
    return { answers: capped, sources: capped };
  }
  return { answers: answerLadder(documents), sources: sourceLadder(documents) };
}

/** Corpus indices of the documents whose text the answer analysis reads (the top documents of queries with an answer). */
export function documentsNeeded(loaded: LoadedResults, options: Pick<AnalyzeOptions, 'ks'> = {}): Set<number> {
  const { documents, queries } = loaded.results;
  const ks = ladders(documents.length, options.ks).answers;
  const maxK = ks.length ? ks[ks.length - 1] : 0;
  const raw = rawRows(loaded);
  const need = new Set<number>();
  queries.forEach((q, i) => {
    if (q.answer === null || answerPattern(q.answer) === null) return;
    for (const d of topK(raw[i], maxK)) need.add(documents[d].index);
  });
  return need;
}

/** All five analyses of a loaded results folder. */
export function analyze(loaded: LoadedResults, options: AnalyzeOptions = {}): AnalysisReport {
  const { results } = loaded;
  const { documents, queries } = results;
  const N = documents.length;
  const labels = labelsOf(loaded);
  const raw = rawRows(loaded);
  const perNat = perNatRows(loaded, raw);
  const ks = ladders(N, options.ks);
  const maxK = Math.max(0, ...ks.answers, ...ks.sources);
  const top = raw.map((row) => topK(row, maxK));
  const bottom = raw.map((row) => bottomK(row, maxK));

  const kinds: AnalysisReport['kinds'] = {};
  for (const kind of orderedKinds(labels)) {
    const ofKind = labels.filter((q) => kindOf(q) === kind);
    const tasks: Record<string, number> = {};
    for (const q of ofKind) if (q.task !== null) tasks[q.task] = (tasks[q.task] ?? 0) + 1;
    kinds[kind] = { queries: ofKind.length, tasks };
  }

  const text = options.text;
  const answers: AnalysisReport['answers'] = text
    ? answerAnalysis(
        queries.map((q, i) => ({ ...labels[i], answer: q.answer, completion: q.completion, steps: stepsOf(q as StepsCarrier) })),
        top,
        (d) => text(documents[d].index),
        ks.answers,
      )
    : { available: false, reason: options.noTextReason ?? 'no document text was given' };

  const correlations = correlationAnalysis(raw, labels, { permutations: options.permutations, seed: options.seed });
  const powerLaw = powerLawAnalysis(perNat, labels, { maxRank: options.maxRank });
  const totalInfluence = totalInfluenceAnalysis(perNat, labels, options.percents ?? PERCENT_GRID);
  const sources = sourceAnalysis(
    labels,
    top,
    bottom,
    documents.map((d) => d.source),
    ks.sources,
  );
  return {
    version: ANALYSIS_VERSION,
    tool: TOOL_VERSION,
    createdAt: artefactTime(),
    results: {
      dir: loaded.dir,
      createdAt: results.createdAt,
      queries: queries.length,
      documents: N,
      strategy: results.strategy,
      rank: results.rank,
      corpus: results.corpus.path,
    },
    kinds,
    correlations,
    powerLaw,
    totalInfluence,
    answers,
    sources,
    findings: findings({
      labels,
      documents: N,
      correlations,
      powerLaw,
      totalInfluence,
      answers,
      sources,
      answerCounts: options.answerCounts,
      seed: options.seed,
    }),
  };
}

/** JSON with one-space indentation, arrays of numbers (and other scalars) kept on one line. */
export function analysisJson(report: AnalysisReport): string {
  // Real newlines occur only between tokens (JSON escapes them in strings), so collapsing them is safe.
  return JSON.stringify(report, null, 1).replace(/\[\n[^[\]{}]*?\n\s*\]/g, (m) => m.replace(/\n\s*/g, '')) + '\n';
}

/** Writes `dir/analysis.json` atomically; returns its path. */
export function writeAnalysis(dir: string, report: AnalysisReport): string {
  const path = join(dir, ANALYSIS_FILE);
  writeTextAtomically(path, analysisJson(report));
  return path;
}

function analysisPath(dir: string): string {
  const path = join(dir, ANALYSIS_FILE);
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `no ${ANALYSIS_FILE} in ${dir}`, { file: path });
  return path;
}

const ANALYSIS_READ = { what: ANALYSIS_FILE, maxBytes: FILE_LIMITS.largeJson, code: 'RESULTS_CORRUPT' } as const;

function checkedAnalysis(path: string, report: AnalysisReport): AnalysisReport {
  if (report?.version !== ANALYSIS_VERSION)
    throw new InfluenceLensError('RESULTS_CORRUPT', `unsupported ${ANALYSIS_FILE} version ${String(report?.version)}`, { file: path });
  return report;
}

/** Reads `dir/analysis.json`. */
export function readAnalysis(dir: string): AnalysisReport {
  const path = analysisPath(dir);
  return checkedAnalysis(path, readJsonBounded(path, ANALYSIS_READ) as AnalysisReport);
}

/** Reads `dir/analysis.json` without holding the event loop while it reads; `signal` cancels the read. */
export async function readAnalysisAsync(dir: string, signal?: AbortSignal): Promise<AnalysisReport> {
  const path = analysisPath(dir);
  return checkedAnalysis(path, (await readJsonBoundedAsync(path, { ...ANALYSIS_READ, signal })) as AnalysisReport);
}
