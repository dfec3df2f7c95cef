/** `fit`: EK-FAC factors for a model and corpus, stage by stage, cached and resumable; `merge` for shards. */
import {
  DEFAULT_SKETCH,
  FISHER_MODES,
  mergeIndexes,
  mergeResults,
  mergeShards,
  parseSketch,
  prepareOutput,
  readFactorManifest,
  runFit,
  safeForTerminal,
  stageIsValid,
  type StageName,
  STAGES,
  stagesFor,
  STRATEGIES,
} from '../engine/api';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, oneOf, optStr, parse, str, UsageError } from './args';
import { corpusOptions, withModel } from './context';
import { describeIndex, SKETCH_OPTIONS } from './indexCommand';
import { resolveShard, SHARD_OPTIONS } from './shardEnv';

export async function fit(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    out: { type: 'string' },
    strategy: { type: 'string', default: 'ekfac' },
    fisher: { type: 'string', default: 'sampled' },
    'max-docs': { type: 'string' },
    'max-len': { type: 'string' },
    seed: { type: 'string', default: '0' },
    ...SHARD_OPTIONS,
    stage: { type: 'string' },
    modules: { type: 'string' },
    index: { type: 'string' },
    ...SKETCH_OPTIONS,
  });
  const out = str(v, 'out');
  const indexOut = optStr(v, 'index');
  if (!indexOut && (optStr(v, 'sketch') || optStr(v, 'sketch-seed'))) throw new UsageError('--sketch and --sketch-seed need --index');
  const { shard, from } = resolveShard(optStr(v, 'shard'), optStr(v, 'shards'));
  prepareOutput(out, 'factors', [str(v, 'model'), str(v, 'corpus')]);
  if (indexOut) {
    parseSketch(optStr(v, 'sketch') ?? DEFAULT_SKETCH); // a bad --sketch is refused before any work
    prepareOutput(indexOut, 'index', [str(v, 'model'), str(v, 'corpus'), out]);
  }
  const modules = optStr(v, 'modules')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const request = {
    corpus: corpusOptions(v),
    out,
    strategy: oneOf(v, 'strategy', STRATEGIES, 'ekfac'),
    fisher: oneOf(v, 'fisher', FISHER_MODES, 'sampled'),
    seed: int(v, 'seed', { min: 0 }),
    maxLen: int(v, 'max-len', { min: 2 }),
    maxDocs: int(v, 'max-docs'),
    modules,
    shard,
    stage: optStr(v, 'stage') === undefined ? undefined : oneOf<StageName>(v, 'stage', STAGES, 'covariance'),
    batchSize: int(v, 'batch-size'),
    index: indexOut ? { out: indexOut, sketch: optStr(v, 'sketch'), seed: int(v, 'sketch-seed', { min: 0 }) } : undefined,
  };
  await withModel(v, signal, { modules }, async ({ run, hooks }) => {
    // runFit checks the factors' memory before writing anything (engine/runs/fit.ts).
    if (shard) hooks.log(`shard ${shard.index}/${shard.count} (${from})`);
    const outcome = await runFit(run, request, hooks);
    if (outcome.index)
      hooks.log(
        `index ${outcome.index.built === 'lambda-pass' ? 'written in the Λ pass' : outcome.index.built === 'cached' ? 'reused' : 'built'}: ${describeIndex(indexOut!, outcome.index.manifest)}`,
      );
    if (outcome.status === 'shard-written') {
      hooks.log(
        `shard ${shard!.index}/${shard!.count} of the ${outcome.stage} stage is in ${outcome.file}; when all ${shard!.count} are done, run: influence-lens merge --factors ${out}`,
      );
    } else if (outcome.status === 'stage-complete') {
      hooks.log(`the ${outcome.stage} stage is complete in ${out}`);
    } else {
      hooks.log(`factors (${outcome.settings.strategy}) complete in ${out}`);
    }
  });
}

export async function merge(argv: string[]): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    factors: { type: 'string' },
    results: { type: 'string', multiple: true },
    index: { type: 'string', multiple: true },
    out: { type: 'string' },
    stage: { type: 'string' },
  });
  const factors = optStr(v, 'factors');
  const results = v.results as string[] | undefined;
  const indexes = v.index as string[] | undefined;
  if ([factors, results, indexes].filter((x) => x !== undefined).length !== 1) {
    throw new UsageError('merge needs one of: --factors DIR | --results DIR [--results DIR …] --out DIR | --index DIR [--index DIR …] --out DIR');
  }
  const say = (s: string) => {
    if (!v.quiet) process.stderr.write(`influence-lens: ${safeForTerminal(s)}\n`);
  };
  if (indexes) {
    const out = prepareOutput(str(v, 'out'), 'index', indexes);
    const merged = await mergeIndexes(indexes, out);
    say(`merged ${indexes.length} indexes into ${out}: ${merged.documents} documents`);
  } else if (factors) {
    // --stage: a retried merge job whose stage is already merged has nothing to do (docs/CLUSTER.md).
    const wanted = optStr(v, 'stage') === undefined ? undefined : oneOf<StageName>(v, 'stage', STAGES, 'covariance');
    const manifest = wanted && readFactorManifest(factors);
    if (wanted && manifest) {
      if (await stageIsValid(factors, manifest, wanted)) {
        say(`the ${wanted} stage is already merged in ${factors}`);
        return;
      }
      // The first incomplete corpus stage is the one merge would join: refuse before joining another.
      let pending: StageName | undefined;
      for (const s of stagesFor(manifest.settings.strategy)) if (!pending && s !== 'eigen' && !(await stageIsValid(factors, manifest, s))) pending = s;
      if (pending !== wanted)
        throw new UsageError(`merge --stage ${wanted}: ${factors} has the ${pending ?? 'no'} stage pending, not ${wanted}; nothing was merged`);
    }
    const { stage, shards } = await mergeShards(factors);
    say(`merged ${shards} shards of the ${stage} stage in ${factors}; run fit again (with the same options) to continue`);
  } else {
    const out = prepareOutput(str(v, 'out'), 'results', results);
    const merged = mergeResults(results!, out);
    say(`merged ${results!.length} results into ${out}: ${merged.queries.length} queries × ${merged.documents.length} documents`);
  }
}
