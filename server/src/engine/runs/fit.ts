/** Fitting EK-FAC factors with every default and check applied (docs/EKFAC.md, docs/FACTORS.md). */
import { corpusFingerprint } from '../corpus/fingerprint';
import type { Shard } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import { fitFactors, type FitOutcome } from '../ekfac/fit';
import type { StageName } from '../ekfac/store';
import { STRATEGY_SPECS } from '../ekfac/strategies';
import type { FisherMode, FitSettings, Strategy } from '../ekfac/types';
import { InfluenceLensError } from '../errors';
import { currentIndex, PassIndexWriter, sketchChoice, type IndexTarget } from '../gradindex/build';
import type { IndexManifest } from '../gradindex/types';
import { runIndexBuild } from './buildIndex';
import { activationWarning, checkFactorMemory } from '../model/memory';
import { checkMaxLen, DEFAULT_MAX_DOCS, defaultMaxLen } from './defaults';
import { openFactorSet } from './factors';
import type { ModelRun } from './modelRun';
import { describeIssues, type RunHooks } from './progress';
import { prepareOutput, withOutputs } from '../util/output';

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
  /** Only this stage (or its shard), as a cluster's job for it runs (ekfac/fit.ts). */
  stage?: StageName;
  batchSize?: number;
  /**
   * Also write the gradient index (docs/INDEX.md) of every document (of the shard; all of them, even past
   * maxDocs) during the Λ pass; in a pass of its own when that stage is cached, or for a blocks sketch.
   */
  index?: FitIndexRequest;
}

export interface FitIndexRequest {
  /** The index folder (with --shard: this shard's part, joined by merge --index). */
  out: string;
  /** "eigen:16x32", "kron:24x24", "count:8192", "blocks:50%" (default DEFAULT_SKETCH). */
  sketch?: string;
  /** Seed of the random projections (default 0). */
  seed?: number;
  /** Target bytes per chunk file (tests). */
  chunkBytes?: number;
}

/** How the index of a fit --index came about. */
export interface FitIndexReport {
  manifest: IndexManifest;
  /** In the Λ pass, in a pass of its own after the fit, or reused (built earlier from the same inputs). */
  built: 'lambda-pass' | 'own-pass' | 'cached';
  /** Seconds of its own pass (0 otherwise: the Λ stage's time includes it). */
  seconds: number;
}

/** How a stage of this run went: computed, reused from the cache, or written as a shard; its time and size. */
export interface StageReport {
  what: 'computed' | 'cached' | 'shard-written';
  seconds: number;
  documents: number;
  tokens: number;
}

export type FitRunOutcome = FitOutcome & { settings: FitSettings; stages: Partial<Record<StageName, StageReport>>; index?: FitIndexReport };

/** Runs every missing stage (or this shard of the first pending one); completed stages are reused. */
export async function runFit(run: ModelRun, r: FitRequest, hooks: RunHooks = {}): Promise<FitRunOutcome> {
  checkFitMemory(run, r, hooks);
  const index = r.index;
  return withOutputs(
    [
      () => prepareOutput(r.out, 'factors', [run.options.model, r.corpus.path]),
      ...(index ? [() => prepareOutput(index.out, 'index', [run.options.model, r.corpus.path, r.out])] : []),
    ],
    () => fitPrepared(run, r, hooks),
  );
}

/**
 * Factors that cannot be held are refused, and activations that may not fit are stated, before any output
 * is written: every fit (the CLI's, the language server's) comes through here, so none skips the check.
 */
function checkFitMemory(run: ModelRun, r: FitRequest, hooks: RunHooks): void {
  checkFactorMemory(run.checkpoint.config, r.modules, run.options.model);
  if (run.backend.gpu) return;
  const length = r.maxLen ?? defaultMaxLen(run.context);
  const warning = activationWarning(run.checkpoint.config, { threads: run.pool.size, batch: r.batchSize ?? run.pool.batchSize, length });
  if (warning) hooks.log?.(warning);
}

async function fitPrepared(run: ModelRun, r: FitRequest, hooks: RunHooks): Promise<FitRunOutcome> {
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
  let target: IndexTarget | undefined;
  let pass: PassIndexWriter | undefined;
  if (r.index) {
    if (!STRATEGY_SPECS[settings.strategy].eigenbases) {
      throw new InfluenceLensError('INVALID_OPTION', `--index needs the eigenbases of ekfac or kfac factors; --strategy ${settings.strategy} has none`);
    }
    const { fingerprint, path } = identity.model;
    const sketch = sketchChoice(r.index.sketch);
    const corpusAll = { ...r.corpus, maxDocs: undefined };
    target = {
      out: r.index.out,
      sketch,
      seed: r.index.seed,
      maxLen: settings.maxLen,
      model: { fingerprint, path },
      corpus: corpusAll,
      corpusFingerprint: await corpusFingerprint(corpusAll, hooks.signal),
      shard: r.shard,
      chunkBytes: r.index.chunkBytes,
    };
    // A blocks sketch chooses entries by Λ: only a pass after the fit can build it.
    if (STRATEGY_SPECS[settings.strategy].lambdaInEigenbases && sketch.kind !== 'blocks') pass = new PassIndexWriter(run.pool, r.out, target);
  }
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
    stage: r.stage,
    batchSize: r.batchSize ?? run.pool.batchSize,
    signal: hooks.signal,
    index: pass,
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
  const index = target && (await fitIndex(run, r, outcome, target, pass, hooks));
  return { ...outcome, settings, stages, ...(index ? { index } : {}) };
}

/** The index of fit --index: written in the Λ pass, or reused, or built now in a pass of its own. */
async function fitIndex(
  run: ModelRun,
  r: FitRequest,
  outcome: FitOutcome,
  target: IndexTarget,
  pass: PassIndexWriter | undefined,
  hooks: RunHooks,
): Promise<FitIndexReport | undefined> {
  if (pass?.manifest) return { manifest: pass.manifest, built: 'lambda-pass', seconds: 0 };
  if (outcome.status !== 'complete') {
    const why =
      outcome.status === 'shard-written' ? `this run wrote a shard of the ${outcome.stage} stage` : `this run stopped after the ${outcome.stage} stage`;
    hooks.log?.(`the index is written with the Λ pass: not yet (${why})`);
    return undefined;
  }
  const cached = currentIndex(target, outcome.manifest);
  if (cached) {
    hooks.log?.(`index: reused ${target.out}`);
    return { manifest: cached, built: 'cached', seconds: 0 };
  }
  hooks.log?.('index: building it in a pass of its own (the Λ stage was reused from cache, or the sketch needs Λ)');
  const t0 = Date.now();
  const factors = await openFactorSet(run, r.out, { maxLen: target.maxLen });
  const manifest = await runIndexBuild(
    run,
    factors,
    {
      corpus: target.corpus,
      out: target.out,
      sketch: `${target.sketch.kind}:${target.sketch.size}`,
      seed: target.seed,
      shard: r.shard,
      batchSize: r.batchSize,
      chunkBytes: target.chunkBytes,
    },
    hooks,
  );
  return { manifest, built: 'own-pass', seconds: (Date.now() - t0) / 1000 };
}
