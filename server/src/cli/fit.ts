/** `fit`: EK-FAC factors for a model and corpus, stage by stage, cached and resumable; `merge` for shards. */
import { trackedModules } from '../engine/model/tfModel';
import { corpusFingerprint } from '../engine/corpus/fingerprint';
import { parseShard } from '../engine/corpus/sequences';
import { fitFactors, mergeShards } from '../engine/ekfac/fit';
import { FISHER_MODES, STRATEGIES, type FitSettings } from '../engine/ekfac/types';
import { mergeResults } from '../engine/results/merge';
import { mergeIndexes } from '../engine/index/merge';
import { bosId } from '../engine/model/openModel';
import { fingerprintCheckpoint } from '../engine/model/load';
import { prepareOutput } from '../engine/util/output';
import { safeForTerminal } from '../engine/util/terminal';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, oneOf, optStr, parse, str, UsageError } from './args';
import { corpusOptions, logSkipped, withModel } from './context';

export const DEFAULT_MAX_DOCS = 100_000;
export const MAX_LEN_CAP = 512;

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
    shard: { type: 'string' },
    modules: { type: 'string' },
  });
  const out = str(v, 'out');
  const corpus = corpusOptions(v);
  const shard = parseShard(optStr(v, 'shard'));
  prepareOutput(out, 'factors', [str(v, 'model'), corpus.path]);
  const modulesArg = optStr(v, 'modules')?.split(',').map((s) => s.trim()).filter(Boolean);
  await withModel(v, signal, { modules: modulesArg }, async (m) => {
    const ctx = m.checkpoint.config.maxSeqLen;
    const maxLen = int(v, 'max-len', { min: 2 }) ?? Math.min(ctx, MAX_LEN_CAP);
    if (maxLen > ctx) throw new UsageError(`--max-len ${maxLen} exceeds the model's context of ${ctx}`);
    const settings: FitSettings = {
      strategy: oneOf(v, 'strategy', STRATEGIES, 'ekfac'),
      fisher: oneOf(v, 'fisher', FISHER_MODES, 'sampled'),
      seed: int(v, 'seed', { min: 0 })!,
      maxLen,
      maxDocs: int(v, 'max-docs') ?? DEFAULT_MAX_DOCS,
      modules: modulesArg ?? trackedModules(m.checkpoint.config).map((t) => t.name),
    };
    m.log('fingerprinting model and corpus');
    const identity = {
      model: { fingerprint: await fingerprintCheckpoint(m.checkpoint), path: str(v, 'model'), architecture: m.checkpoint.config.architecture },
      corpus: { fingerprint: await corpusFingerprint({ ...corpus, maxDocs: settings.maxDocs }, signal), path: corpus.path },
      settings,
    };
    const outcome = await fitFactors({
      pool: m.pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      corpus,
      identity,
      out,
      shard,
      batchSize: int(v, 'batch-size'),
      signal,
      onProgress: (p) =>
        m.progress.update({ label: `fit ${p.stage}${shard ? ` shard ${shard.index}/${shard.count}` : ''}`, done: p.documents, total: p.totalDocuments, tokens: p.tokens, elapsedMs: p.elapsedMs }),
      onSkipped: (issues, count) => {
        m.progress.done();
        logSkipped(m.log, issues, count);
      },
      onStage: (stage, what) => {
        m.progress.done();
        m.log(`${stage}: ${what === 'cached' ? 'reused from cache' : what === 'computed' ? 'done' : 'shard written'}`);
      },
    });
    if (outcome.status === 'shard-written') {
      m.log(`shard ${shard!.index}/${shard!.count} of the ${outcome.stage} stage is in ${outcome.file}; when all ${shard!.count} are done, run: influence-lens merge --factors ${out}`);
    } else {
      m.log(`factors (${settings.strategy}) complete in ${out}`);
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
  });
  const factors = optStr(v, 'factors');
  const results = v.results as string[] | undefined;
  const indexes = v.index as string[] | undefined;
  if ([factors, results, indexes].filter((x) => x !== undefined).length !== 1) {
    throw new UsageError('merge needs one of: --factors DIR | --results DIR [--results DIR …] --out DIR | --index DIR [--index DIR …] --out DIR');
  }
  const say = (s: string) => v.quiet || process.stderr.write(`influence-lens: ${safeForTerminal(s)}\n`);
  if (indexes) {
    const out = prepareOutput(str(v, 'out'), 'index', indexes);
    const merged = mergeIndexes(indexes, out);
    say(`merged ${indexes.length} indexes into ${out}: ${merged.documents} documents`);
  } else if (factors) {
    const { stage, shards } = await mergeShards(factors);
    say(`merged ${shards} shards of the ${stage} stage in ${factors}; run fit again (with the same options) to continue`);
  } else {
    const out = prepareOutput(str(v, 'out'), 'results', results);
    const merged = mergeResults(results!, out);
    say(`merged ${results!.length} results into ${out}: ${merged.queries.length} queries × ${merged.documents.length} documents`);
  }
}
