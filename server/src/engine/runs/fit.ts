/** Fitting EK-FAC factors with every default and check applied (docs/EKFAC.md, docs/FACTORS.md). */
import { corpusFingerprint } from '../corpus/fingerprint';
import type { Shard } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import { fitFactors, type FitOutcome } from '../ekfac/fit';
import type { StageName } from '../ekfac/store';
import type { FisherMode, FitSettings, Strategy } from '../ekfac/types';
import { checkMaxLen, DEFAULT_MAX_DOCS, defaultMaxLen } from './defaults';
import type { ModelRun } from './modelRun';
import { describeIssues, type RunHooks } from './progress';
import { prepareOutput } from '../util/output';

export interface FitRequest {
  corpus: CorpusOptions;
  /** The factor folder (created; a folder holding factors for something else is refused). */
  out: string;
  strategy?: Strategy;
  fisher?: FisherMode;
  seed?: number;
  /** Tokens per document, [BOS] included (default: the model's context, at most 512). */
  maxLen?: number;
  /** Fitting documents: the first ones of the corpus (default 100,000). */
  maxDocs?: number;
  /** Tracked modules (default: every MLP linear). */
  modules?: string[];
  shard?: Shard;
  batchSize?: number;
}

/** How a stage of this run went: computed, reused from the cache, or written as a shard; its time and size. */
export interface StageReport {
  what: 'computed' | 'cached' | 'shard-written';
  seconds: number;
  documents: number;
  tokens: number;
}

export type FitRunOutcome = FitOutcome & { settings: FitSettings; stages: Partial<Record<StageName, StageReport>> };

/** Runs every missing stage (or this shard of the first pending one); completed stages are reused. */
export async function runFit(run: ModelRun, r: FitRequest, hooks: RunHooks = {}): Promise<FitRunOutcome> {
  prepareOutput(r.out, 'factors', [run.options.model, r.corpus.path]);
  await run.track(r.modules);
  const settings: FitSettings = {
    strategy: r.strategy ?? 'ekfac',
    fisher: r.fisher ?? 'sampled',
    seed: r.seed ?? 0,
    maxLen: checkMaxLen(r.maxLen ?? defaultMaxLen(run.context), run.context),
    maxDocs: r.maxDocs ?? DEFAULT_MAX_DOCS,
    modules: r.modules ?? run.allModules,
  };
  hooks.log?.('fingerprinting model and corpus');
  const identity = {
    model: await run.modelId(),
    corpus: { fingerprint: await corpusFingerprint({ ...r.corpus, maxDocs: settings.maxDocs }, hooks.signal), path: r.corpus.path },
    settings,
  };
  const shardLabel = r.shard ? ` shard ${r.shard.index}/${r.shard.count}` : '';
  const stages: FitRunOutcome['stages'] = {};
  let stageStart = Date.now();
  let last = { documents: 0, tokens: 0 };
  const outcome = await fitFactors({
    pool: run.pool,
    tokenizer: run.tokenizer,
    bos: run.bos,
    corpus: r.corpus,
    identity,
    out: r.out,
    shard: r.shard,
    batchSize: r.batchSize ?? run.pool.batchSize,
    signal: hooks.signal,
    onProgress: (p) => {
      last = { documents: p.documents, tokens: p.tokens };
      hooks.onProgress?.({ stage: `fit ${p.stage}${shardLabel}`, done: p.documents, total: p.totalDocuments, tokens: p.tokens, elapsedMs: p.elapsedMs });
    },
    onSkipped: (issues, count) => {
      hooks.log?.(`skipped ${count} malformed corpus ${count === 1 ? 'entry' : 'entries'}:`);
      for (const line of describeIssues(issues, count)) hooks.log?.(line);
    },
    onStage: (stage, what) => {
      stages[stage] = { what, seconds: (Date.now() - stageStart) / 1000, ...(what === 'cached' || stage === 'eigen' ? { documents: 0, tokens: 0 } : last) };
      stageStart = Date.now();
      last = { documents: 0, tokens: 0 };
      hooks.log?.(`${stage}: ${what === 'cached' ? 'reused from cache' : what === 'computed' ? 'done' : 'shard written'}`);
    },
  });
  return { ...outcome, settings, stages };
}
