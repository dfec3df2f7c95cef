/**
 * The paper's analyses of a results folder, written as analysis.json beside it (docs/ANALYSES.md). The
 * answer analysis reads the text of the top documents from the scored corpus, when it can be found and
 * is still the corpus that was scored (its fingerprint, ids and sources those results.json records).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, documentsNeeded, writeAnalysis, type AnalysisReport } from '../analysis/analyze';
import { answerPattern } from '../analysis/answers';
import { locateCorpus } from '../report/texts';
import { readCorpus } from '../corpus/corpus';
import { CorpusFingerprinter, corpusFingerprint } from '../corpus/fingerprint';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import { readResults } from '../results/io';
import { corpusChanged } from '../results/scoredCorpus';
import { prepareOutput, withOutputs } from '../util/output';
import type { LoadedResults } from '../results/types';
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
  const shard = loaded.results.method.shard;
  if (shard !== null) {
    throw new InfluenceLensError(
      'RESULTS_INCOMPLETE',
      `${r.results} holds shard ${shard} of the corpus only: merge every shard first (influence-lens merge --results … --out DIR) and analyse the merged folder`,
      { file: join(r.results, 'results.json') },
    );
  }
  // analysis.json goes beside the results: writable, checked (and the folder locked) before the work.
  const purpose = 'analyze writes analysis.json beside the results; copy the results folder somewhere writable';
  return withOutputs([() => prepareOutput(r.results, 'results', [], { option: '--results', purpose })], async () => {
    const { queries, documents } = loaded.results;
    hooks.log?.(`analysing ${queries.length} queries × ${documents.length} documents in ${r.results}`);
    const texts = await answerTexts(loaded, r, hooks);
    const report = analyze(loaded, { ks: r.ks, permutations: r.permutations ?? 1000, seed: r.seed ?? 0, ...texts });
    return { report, path: writeAnalysis(r.results, report), loaded };
  });
}

/** The scored corpus: the one given, else results.corpus.path (resolved as the report does). */
export const scoredCorpusPath = locateCorpus;

/**
 * In one pass over the scored corpus: the text of the documents the answer analysis reads, and per query
 * how many corpus documents contain its answer (the findings' base rate). The corpus must be the one
 * scored (same fingerprint, same ids and sources), else the answer analysis is skipped with the reason.
 */
async function answerTexts(
  loaded: LoadedResults,
  r: AnalyzeRequest,
  hooks: RunHooks,
): Promise<{ text?: (index: number) => string | undefined; noTextReason?: string; answerCounts?: (number | null)[] }> {
  const need = documentsNeeded(loaded, { ks: r.ks });
  if (need.size === 0) return { noTextReason: 'no query has an answer' };
  const path = scoredCorpusPath(loaded, r.corpus?.path);
  if (!path || !existsSync(path)) {
    const reason = `corpus not found: ${path ?? '(none recorded)'}; pass --corpus`;
    hooks.log?.(`answer analysis skipped (${reason})`);
    return { noTextReason: reason };
  }
  hooks.log?.(`reading the text of ${need.size} top documents from ${path}`);
  const corpus: CorpusOptions = { ...r.corpus, path };
  const scored = new Map(loaded.results.documents.map((d) => [d.index, d]));
  const patterns = loaded.results.queries.map((q) => (q.answer === null ? null : answerPattern(q.answer)));
  const counts = patterns.map((p) => (p === null ? null : 0));
  const texts = new Map<number, string>();
  let mismatched = 0;
  // The corpus is fingerprinted as it is read (no second read when the pass reads every byte).
  const fingerprinter = new CorpusFingerprinter(corpus);
  for await (const doc of readCorpus(corpus, undefined, hooks.signal, fingerprinter.hooks)) {
    const s = scored.get(doc.index);
    if (need.has(doc.index)) {
      if (!s || s.id !== doc.id || s.source !== doc.source) mismatched++;
      else texts.set(doc.index, doc.text);
    }
    if (!s) continue;
    patterns.forEach((p, i) => {
      if (p !== null && p.test(doc.text)) counts[i]!++;
    });
  }
  let reason: string | undefined;
  if (texts.size < need.size) {
    reason = `the corpus at ${path} is not the one scored (${mismatched} documents differ in id or source, ${need.size - texts.size - mismatched} missing); pass --corpus (and --text-field etc. as for score)`;
  } else {
    reason = corpusChanged(loaded, path, fingerprinter.digest() ?? (await corpusFingerprint(corpus, hooks.signal)));
  }
  if (reason) {
    hooks.log?.(`answer analysis skipped: ${reason}`);
    return { noTextReason: reason };
  }
  return { text: (i) => texts.get(i), answerCounts: counts };
}
