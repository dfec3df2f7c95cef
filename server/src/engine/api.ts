/**
 * The engine's public surface: everything the adapters (language server, session, CLI, cluster planner)
 * may call, and nothing else (eslint refuses them any other engine module). A curated list over
 * `runs/` (each user action start to end) and the few modules an adapter needs beside it, grouped by
 * what a caller wants to do; engine folders import each other directly, never this file.
 */

// Errors: one error type with a code, for every layer to throw and every adapter to describe.
export { describeError, InfluenceLensError, isInfluenceLensError, type ErrorCode, type ErrorDescription } from './errors';

// Backend choice: which tfjs backend computes (auto, cpu, wasm, node, gpu, webgpu), and what it found.
export { BACKEND_CHOICES } from '../common/backends';
export {
  describeAdapter,
  describeBackend,
  initBackend,
  parseBackendRequest,
  type AdapterInfo,
  type BackendInfo,
  type BackendName,
  type BackendRequest,
} from './device/backend';

// Open a workspace's model run: the checkpoint, its Hugging Face cache name, and whether it looks loaded right.
export { ModelRun } from './runs/modelRun';
export { plausibilityWarning } from './runs/plausibility';
export { hubLabel, hubRepoDir, parseHubReference } from './model/hubCache';
export type { Architecture, Checkpoint } from './model/types';
export { familyForModelType } from './model/arch/registry';

// Progress and cancellation hooks every run takes.
export type { RunHooks, RunProgress } from './runs/progress';

// Corpus: the settings' corpus as reader options, its fingerprint, a shard of it, its documents' text.
export { corpusInput, readCorpus } from './corpus/corpus';
export { corpusFingerprint } from './corpus/fingerprint';
export type { CorpusOptions } from './corpus/types';
export { parseShard, type Shard } from './corpus/sequences';
export { CorpusTexts, readDocumentTexts } from './runs/documents';

// Queries: query files (.infq, JSONL) and the defaults that bound a query's length.
export { parseQueries, parseQueryText, readQueries } from './queries/read';
export { blockAt, formatInfq, parseInfq, type ParsedQueryFile, type QueryBlock } from './queries/infq';
export type { QueryRecord } from './queries/types';
export { checkMaxLen, defaultMaxLen } from './runs/defaults';

// Fit: the factors (covariance, eigenbases, Λ) per strategy, the factor store, merging shards.
export { runFit } from './runs/fit';
export { openFactorSet, type FactorSet } from './runs/factors';
export { mergeShards } from './ekfac/fit';
export { readManifest as readFactorManifest, stageIsValid, stagesFor, STAGES, type FactorManifest, type StageName } from './ekfac/store';
export { FISHER_MODES, STRATEGIES, type Strategy } from './ekfac/types';

// Index: the stored gradient index (sketch choice, build, open for queries, merge shards).
export { runIndexBuild } from './runs/buildIndex';
export { openIndexQueries, type OpenIndex } from './runs/indexQueries';
export { bytesPerRow, DEFAULT_SKETCH, parseSketch, sketchName } from './gradindex/sketch';
export { readManifest as readIndexManifest } from './gradindex/store';
export { mergeIndexes } from './gradindex/merge';
export type { IndexManifest } from './gradindex/types';

// Score: a corpus against a query file, into a results folder; damping checks; results files.
export { runScore, type ScoreRun } from './runs/score';
export { checkDamping } from './score/precondition';
export { readResults, readResultsAsync } from './results/io';
export { mergeResults } from './results/merge';
export type { LoadedResults } from './results/types';

// Query influence and per-token influence: the warm session a hover asks, and its answers.
export { InfluenceSession, DEFAULT_RERANK, type InfluenceRequest, type InfluenceResult, type RankedDocument } from './runs/influence';
export { candidateCounts, DEFAULT_CANDIDATE_TOTAL } from './runs/candidates';

// Text: generation and loss of a text under the model.
export { generateText, textLoss } from './runs/text';

// Analyze: the paper's analyses over a results folder (analysis.json).
export { runAnalysis } from './runs/analyze';
export { readAnalysis, readAnalysisAsync, type AnalysisReport } from './analysis/analyze';
export { headlineTable } from './analysis/headline';

// Report views: the panel's query and batch views, the HTML report, what a score means.
export { buildBatchView } from './report/batchView';
export { buildQueryView, documentPage, type QueryViewInput } from './report/queryView';
export { answerViewInput, resultsAnswer, scoredCorpusTexts, scoredWithFactors, withSnippets } from './runs/answerViews';
export { reportHtml, type WebviewAssets } from './report/html';
export { DEFAULT_REPORT_CARDS, documentsOf, reportViews, withTexts } from './report/reportData';
// The report's texts are checked against results.json (runs/documents' readDocumentTexts against one document each).
export { locateCorpus, readDocumentTexts as readReportTexts } from './report/texts';
export { SCORE_SECTION, scoreMeaning, scoreSectionLine } from '../common/scoreMeaning';
export type { BatchView, CardPage, QueryView, Side, Snippet } from '../common/views';

// Evaluation: LDS and fact tracing over the pipeline, and their Markdown reports.
export { runFactTracing } from './eval/factsRun';
export { runLds } from './eval/lds';
export { DEFAULT_LDS_TRAINING, type LdsTraining } from './eval/ldsTrain';
export { METHODS, parseMethods, type Method } from './eval/methods';
export { factsMarkdown, ldsMarkdown } from './eval/report';

// Files and terminal output: bounded reads, atomic writes, sealed outputs, hashes, durations.
export { FILE_LIMITS, readJsonBounded, readTextBounded, readTextBoundedAsync } from './util/files';
export { writeTextAtomically } from './util/atomic';
export { prepareOutput, prepareOutputFile, releaseAllOutputs } from './util/output';
export { verifySeal } from './util/seal';
export { sha256File } from './util/hash';
export { formatDuration } from './util/duration';
export { safeForTerminal } from './util/terminal';
