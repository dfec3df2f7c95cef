/**
 * The paper's analyses of a results folder, written as analysis.json beside it (docs/ANALYSES.md). The
 * answer analysis reads the text of the top documents from the scored corpus, when it can be found and
 * is still the corpus that was scored.
 */
import { existsSync } from 'node:fs';
import { analyze, documentsNeeded, writeAnalysis, type AnalysisReport } from '../analysis/analyze';
import { answerPattern } from '../analysis/answers';
import { locateCorpus } from '../report/texts';
import { readCorpus } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';
import { readResults } from '../results/io';
import { prepareOutput } from '../util/output';
import type { LoadedResults } from '../results/types';
import { readDocumentTexts } from './documents';
import type { RunHooks } from './progress';

export interface AnalyzeRequest {
  results: string;
  /** k of the answer and source analyses (default: their ladders). */
  ks?: number[];
  permutations?: number;
  seed?: number;
  /** The scored corpus, when not where results.json says (field names as for scoring). */
  corpus?: Partial<CorpusOptions>;
}

export interface AnalyzeRun {
  report: AnalysisReport;
  /** analysis.json */
  path: string;
  loaded: LoadedResults;
}

export async function runAnalysis(r: AnalyzeRequest, hooks: RunHooks = {}): Promise<AnalyzeRun> {
  const loaded = readResults(r.results);
  prepareOutput(r.results, 'results'); // analysis.json goes beside the results: writable, checked before the work
  const { queries, documents } = loaded.results;
  hooks.log?.(`analysing ${queries.length} queries × ${documents.length} documents in ${r.results}`);
  const texts = await answerTexts(loaded, r, hooks);
  const answerCounts = texts.text ? await countAnswers(loaded, r, hooks) : undefined;
  const report = analyze(loaded, { ks: r.ks, permutations: r.permutations ?? 1000, seed: r.seed ?? 0, ...texts, answerCounts });
  return { report, path: writeAnalysis(r.results, report), loaded };
}

/** The scored corpus: the one given, else results.corpus.path (resolved as the report does). */
export const scoredCorpusPath = locateCorpus;

/** Per query, how many corpus documents contain its answer (the findings' base rate), in one pass. */
async function countAnswers(loaded: LoadedResults, r: AnalyzeRequest, hooks: RunHooks): Promise<(number | null)[]> {
  const patterns = loaded.results.queries.map((q) => (q.answer === null ? null : answerPattern(q.answer)));
  const counts = patterns.map((p) => (p === null ? null : 0));
  const scored = new Set(loaded.results.documents.map((d) => d.index));
  for await (const doc of readCorpus({ ...r.corpus, path: scoredCorpusPath(loaded, r.corpus?.path)! }, undefined, hooks.signal)) {
    if (!scored.has(doc.index)) continue;
    patterns.forEach((p, i) => {
      if (p !== null && p.test(doc.text)) counts[i]!++;
    });
  }
  return counts;
}

async function answerTexts(
  loaded: LoadedResults,
  r: AnalyzeRequest,
  hooks: RunHooks,
): Promise<{ text?: (index: number) => string | undefined; noTextReason?: string }> {
  const need = documentsNeeded(loaded, { ks: r.ks });
  if (need.size === 0) return { noTextReason: 'no query has an answer' };
  const path = scoredCorpusPath(loaded, r.corpus?.path);
  if (!path || !existsSync(path)) {
    const reason = `corpus not found: ${path ?? '(none recorded)'}; pass --corpus`;
    hooks.log?.(`answer analysis skipped (${reason})`);
    return { noTextReason: reason };
  }
  hooks.log?.(`reading the text of ${need.size} top documents from ${path}`);
  const scored = new Map(loaded.results.documents.map((d) => [d.index, d]));
  const found = await readDocumentTexts({ ...r.corpus, path }, need, (i) => scored.get(i), hooks.signal);
  if (found.texts.size < need.size) {
    const reason = `the corpus at ${path} is not the one scored (${found.mismatched.length} documents differ in id or source, ${found.missing.length} missing); pass --corpus (and --text-field etc. as for score)`;
    hooks.log?.(`answer analysis skipped: ${reason}`);
    return { noTextReason: reason };
  }
  return { text: (i) => found.texts.get(i) };
}
