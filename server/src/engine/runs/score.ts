/**
 * Scoring queries against a corpus (exactly, or from a gradient index with an exact rerank) into the
 * results format of docs/RESULTS.md, with the queries that could not be scored listed in the results.
 */
import { CorpusFingerprinter, corpusFingerprint } from '../corpus/fingerprint';
import type { Shard } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import { scoreWithIndex } from './scoreWithIndex';
import type { CandidateCounts } from './candidates';
import type { QueryRecord } from '../queries/types';
import { writeResults } from '../results/io';
import type { ResultsFile, ResultsMeta } from '../results/types';
import { resultsQuery, type CompletionRule } from '../score/queries';
import { scoreCorpus, type ScoreOutput, type ScoreProgress } from '../score/score';
import { TOOL_VERSION } from '../version';
import { prepareOutput, withOutputs } from '../util/output';
import { checkDamping } from '../score/precondition';
import type { FactorSet } from './factors';
import type { ModelRun } from './modelRun';
import { describeIssues, type RunHooks } from './progress';
import { prepareQueries, type SkippedQuery } from './queries';
import { artefactTime } from '../util/clock';
import { resultsDocument } from '../results/document';

export interface ScoreRequest {
  corpus: CorpusOptions;
  queries: QueryRecord[];
  /** λ for every module (default 0.1 × mean Λ per module). */
  damping?: number;
  /** Rank of the low-rank query approximation (default: full rank). */
  rank?: number;
  selfInfluence?: boolean;
  shard?: Shard;
  batchSize?: number;
  /** New tokens of a greedy completion for queries without one. */
  maxNewTokens?: number;
  /** Where greedy completions end (default `firstLine`, the model's answer: score/queries.ts CompletionRule). */
  completion?: CompletionRule;
  /** Score from this gradient index instead of a corpus pass, rescoring the top and bottom `rerank` exactly. */
  /** Score from this index: `rerank` documents per side exactly, `candidates` per query from its rescoring tier (default DEFAULT_CANDIDATES). */
  index?: { dir: string; rerank: number; candidates?: CandidateCounts };
  /** The results folder to write (checked before any computing). */
  out?: string;
}

export interface ScoreRun {
  /** As written (with its checksums) when `out` was given, else the metadata alone. */
  results: ResultsFile | ResultsMeta;
  /** Raw influence, [queries × documents] row-major, in the order of results.queries and results.documents. */
  scores: Float32Array;
  self?: Float32Array;
  skippedQueries: SkippedQuery[];
}

export async function runScore(run: ModelRun, f: FactorSet, r: ScoreRequest, hooks: RunHooks = {}): Promise<ScoreRun> {
  if (r.index && r.shard) throw new InfluenceLensError('USAGE', 'sharding applies to corpus passes; an index is sharded when it is built');
  if (r.index && r.selfInfluence) throw new InfluenceLensError('USAGE', 'self-influence needs a pass over the corpus, not an index');
  if (r.damping !== undefined) checkDamping(r.damping);
  const out = r.out;
  // The results folder is locked while it is written; a run that fails leaves no folder it created.
  return withOutputs(out ? [() => prepareOutput(out, 'results', [f.dir, r.corpus.path, ...(r.index ? [r.index.dir] : [])])] : [], () =>
    scorePrepared(run, f, r, hooks),
  );
}

/** What the progress shows for each phase of scoring. */
const STAGES: Record<ScoreProgress['phase'], string> = { queries: 'query gradients', candidates: 'rescoring candidates', corpus: 'scoring corpus' };

async function scorePrepared(run: ModelRun, f: FactorSet, r: ScoreRequest, hooks: RunHooks): Promise<ScoreRun> {
  const { queries, skipped } = await prepareQueries(run, r.queries, { maxLen: f.maxLen, maxNewTokens: r.maxNewTokens, completion: r.completion }, hooks);
  if (queries.length === 0) {
    throw new InfluenceLensError(
      'NO_QUERIES',
      `none of the ${r.queries.length} queries can be scored:\n${skipped.map((s) => `  ${s.file}:${s.line}: ${s.reason}`).join('\n')}`,
      {
        file: r.queries[0]?.file,
      },
    );
  }
  const modelId = await run.modelId();
  const base = {
    pool: run.pool,
    tokenizer: run.tokenizer,
    bos: run.bos,
    corpus: r.corpus,
    factors: f.factors,
    queries,
    maxLen: f.maxLen,
    damping: r.damping,
    rank: r.rank,
    batchSize: r.batchSize ?? run.pool.batchSize,
    signal: hooks.signal,
    onProgress: (p: ScoreProgress) =>
      hooks.onProgress?.({
        stage: STAGES[p.phase],
        done: p.done,
        total: p.total,
        tokens: p.tokens,
        elapsedMs: p.elapsedMs,
      }),
  };
  // The corpus is fingerprinted as the scoring pass reads it (no second read), when that pass reads all of it;
  // an index is opened only over the corpus it was built on, so that corpus is fingerprinted first.
  const fingerprinter = new CorpusFingerprinter(r.corpus);
  const indexCorpus = r.index ? await corpusFingerprint(r.corpus, hooks.signal) : undefined;
  const output: ScoreOutput = r.index
    ? await scoreWithIndex({
        ...base,
        indexDir: r.index.dir,
        modelFingerprint: modelId.fingerprint,
        corpusFingerprint: indexCorpus!,
        rerank: r.index.rerank,
        candidates: r.index.candidates,
      })
    : await scoreCorpus({ ...base, selfInfluence: r.selfInfluence === true, shard: r.shard, corpusHooks: fingerprinter.hooks });
  warnIfAllZero(output, r.damping, hooks);
  if (output.skipped > 0) {
    hooks.log?.(`skipped ${output.skipped} malformed corpus ${output.skipped === 1 ? 'entry' : 'entries'}:`);
    for (const line of describeIssues(output.skippedIssues, output.skipped)) hooks.log?.(line);
  }
  const manifest = f.factors.manifest;
  const indexInfo = output.index;
  const meta: ResultsMeta = {
    tool: TOOL_VERSION,
    createdAt: artefactTime(),
    model: modelId,
    corpus: {
      path: r.corpus.path,
      fingerprint: indexCorpus ?? fingerprinter.digest() ?? (await corpusFingerprint(r.corpus, hooks.signal)),
      documents: output.documents.length,
      skipped: output.skipped,
      skippedIssues: output.skippedIssues,
    },
    factors: {
      path: f.dir,
      strategy: manifest.settings.strategy,
      fisher: manifest.settings.fisher,
      documents: manifest.stages.lambda?.documents ?? manifest.stages.covariance?.documents ?? null,
      tokens: manifest.stages.lambda?.tokens ?? manifest.stages.covariance?.tokens ?? null,
      stages: Object.fromEntries(Object.entries(manifest.stages).map(([stage, record]) => [stage, record.sha256])),
    },
    strategy: manifest.settings.strategy,
    damping: output.damping,
    rank: output.rank,
    method: {
      scoring: indexInfo ? 'index' : 'exact',
      contraction: output.contraction,
      maxLen: f.maxLen,
      shard: r.shard ? `${r.shard.index}/${r.shard.count}` : null,
      ...(indexInfo ? { index: indexInfo, rerank: r.index?.rerank ?? 0 } : {}),
    },
    documents: output.documents.map((d) => ({ ...resultsDocument(d), ...(indexInfo ? { exact: d.exact === true } : {}) })),
    queries: output.queries.map((q) => resultsQuery(q, q.nllNats)),
    ...(skipped.length > 0 ? { skippedQueries: skipped } : {}),
  };
  const results = r.out ? writeResults(r.out, meta, output.scores, output.self) : meta;
  return { results, scores: output.scores, self: output.self, skippedQueries: skipped };
}

/** Every score exactly 0 is never a finding: say so (it happens when the damping swamps every gradient). */
function warnIfAllZero(output: ScoreOutput, damping: number | undefined, hooks: RunHooks): void {
  if (output.scores.length === 0 || output.scores.some((x) => x !== 0)) return;
  const why = damping !== undefined ? ` (--damping ${damping} may be too large for these gradients: every score underflowed to 0)` : '';
  hooks.log?.(`warning: every score is 0${why}; the rankings mean nothing`);
}
