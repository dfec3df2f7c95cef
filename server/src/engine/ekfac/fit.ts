/**
 * Fitting EK-FAC factors in three cached stages (docs/EKFAC.md): covariances, their float64
 * eigendecompositions, and the eigenvalue correction. Each corpus pass is a sum over documents, so a
 * stage can be split into shards (documents i with i mod n = k) whose sums `mergeShards` adds.
 */
import type { EkfacPool, EkfacResults, EkfacTask } from './tasks';
import type { TaskOf } from '../worker/taskPool';
import { runBatched } from '../worker/batched';
import { join } from 'node:path';
import { readCorpus } from '../corpus/corpus';
import { BY_TOKEN_COUNT, corpusItems, inShard, type CorpusItem, type Shard } from '../corpus/sequences';
import { newCorpusReport, type CorpusIssue, type CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import { symmetricEigen } from '../linalg/eigh';
import type { HostTensor } from '../model/types';
import { loadEigenModules } from './load';
import { intactShardFile } from './shardReuse';
import { STRATEGY_SPECS } from './strategies';
import type { ModuleFactors } from './types';
import type { Tokenizer } from '../tokenizer/types';
import {
  invalidateFrom,
  listShards,
  openFactorFolder,
  readManifest,
  readShard,
  readStage,
  removeShards,
  stageIsValid,
  stagesFor,
  writeShard,
  writeStage,
  type FactorIdentity,
  type FactorManifest,
  type StageName,
} from './store';

export interface FitProgress {
  stage: StageName;
  documents: number;
  /** Documents this pass will read (known after a quick count), or undefined while counting. */
  totalDocuments?: number;
  tokens: number;
  elapsedMs: number;
}

export interface FitOptions {
  pool: EkfacPool;
  tokenizer: Tokenizer;
  bos: number;
  corpus: CorpusOptions;
  identity: FactorIdentity;
  out: string;
  shard?: Shard;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: FitProgress) => void;
  /** Malformed corpus lines/files a pass skipped (the first ones, and how many in all). */
  onSkipped?: (issues: CorpusIssue[], count: number) => void;
  /** Called when a stage is done, reused from cache, or written as a shard. */
  onStage?: (stage: StageName, what: 'computed' | 'cached' | 'shard-written') => void;
  /** Sketch every document (of the shard) into an index during the Λ pass (fit --index). */
  index?: PassIndex;
  /**
   * Only this stage (or its shard): earlier stages must be complete, later ones are left alone. A cluster
   * runs each stage as its own job, so a late retry of a finished shard does nothing instead of starting
   * the next stage (docs/CLUSTER.md).
   */
  stage?: StageName;
}

/**
 * An index written during the eigenvalue-correction pass (gradindex/build.ts's IndexBuilder behind fit --index).
 * That pass reads every document of the shard, the fit's sample (maxDocs) only adding to Λ.
 */
export interface PassIndex {
  /** Before the pass, once the eigenbases exist: uploads the sketch to the threads. */
  start(modules: ModuleFactors[]): Promise<void>;
  /** One batch's rows; batches may come sorted by length within a window. */
  push(batch: CorpusItem[], rows: unknown): void;
  /** Every document up to here has been pushed (runBatched's window ended): rows may be written in corpus order. */
  endWindow(): void;
  /** After the Λ stage (or its shard) is written. */
  finish(manifest: FactorManifest): Promise<void>;
  /** Whether it was written in this fit's Λ pass. */
  readonly written: boolean;
}

export type FitOutcome =
  | { status: 'complete'; manifest: FactorManifest }
  | { status: 'shard-written'; stage: StageName; file: string }
  /** fit --stage: that stage is complete (computed now or earlier); later stages may still be missing. */
  | { status: 'stage-complete'; stage: StageName; manifest: FactorManifest };

/** Runs every stage that is missing; with a shard, runs only this shard of the first pending corpus pass. */
export async function fitFactors(o: FitOptions): Promise<FitOutcome> {
  const manifest = openFactorFolder(o.out, o.identity);
  const stages = stagesFor(o.identity.settings.strategy);
  if (o.stage && !stages.includes(o.stage))
    throw new InfluenceLensError('USAGE', `--strategy ${o.identity.settings.strategy} has no ${o.stage} stage (its stages: ${stages.join(', ') || 'none'})`);
  for (const stage of stages) {
    if (await stageIsValid(o.out, manifest, stage)) {
      o.onStage?.(stage, 'cached');
      if (stage === o.stage) return { status: 'stage-complete', stage, manifest };
      continue;
    }
    if (o.stage && stage !== o.stage) {
      throw new InfluenceLensError(
        'FACTORS_INCOMPLETE',
        `the ${o.stage} stage needs the ${stage} stage first, and ${o.out} has not got it${stage === 'eigen' ? '' : ' (merge its shards, or fit it)'}`,
        { file: o.out },
      );
    }
    invalidateFrom(o.out, manifest, stage); // later stages were built on the missing one
    if (stage === 'eigen') {
      await writeStage(o.out, manifest, 'eigen', eigenTensors(await readStage(o.out, manifest, 'covariance'), manifest), {
        documents: manifest.stages.covariance!.documents,
        tokens: manifest.stages.covariance!.tokens,
        skipped: 0,
      });
      o.onStage?.(stage, 'computed');
      if (stage === o.stage) return { status: 'stage-complete', stage, manifest };
      continue;
    }
    // An intact shard from an earlier attempt is kept (with --index its index part may be missing: recompute).
    const done = o.shard && !o.index ? await intactShardFile(o.out, manifest, stage, o.shard) : undefined;
    if (done) {
      o.onStage?.(stage, 'cached');
      return { status: 'shard-written', stage, file: done };
    }
    const pass = await corpusPass(o, manifest, stage);
    const withIndex = stage === 'lambda' && o.index;
    if (o.shard) {
      const file = await writeShard(o.out, manifest, { stage, index: o.shard.index, count: o.shard.count, ...pass.record }, pass.tensors);
      if (withIndex) await o.index!.finish(manifest);
      o.onStage?.(stage, 'shard-written');
      return { status: 'shard-written', stage, file };
    }
    await writeStage(o.out, manifest, stage, pass.tensors, pass.record);
    if (withIndex) await o.index!.finish(manifest);
    o.onStage?.(stage, 'computed');
    if (stage === o.stage) return { status: 'stage-complete', stage, manifest };
  }
  return { status: 'complete', manifest };
}

interface PassResult {
  tensors: Map<string, HostTensor>;
  record: { documents: number; tokens: number; skipped: number };
}

/** One pass over the (sharded) corpus sample for the covariance or eigenvalue-correction stage. */
async function corpusPass(o: FitOptions, manifest: FactorManifest, stage: StageName): Promise<PassResult> {
  const { settings } = o.identity;
  const corpus: CorpusOptions = { ...o.corpus, maxDocs: settings.maxDocs };
  const options = { labels: settings.fisher === 'sampled' ? ('sampled' as const) : ('actual' as const), seed: settings.seed };
  const started = Date.now();
  const progress: FitProgress = { stage, documents: 0, tokens: 0, elapsedMs: 0 };
  o.onProgress?.(progress);
  progress.totalDocuments = await countDocuments(corpus, o.shard, o.signal);
  const report = newCorpusReport();
  const items = corpusItems(corpus, o.tokenizer, o.bos, settings.maxLen, { shard: o.shard, report, signal: o.signal });
  const sums = new Map<string, { shape: number[]; data: Float64Array }>();
  const add = (name: string, shape: number[], data: Float32Array) => {
    let acc = sums.get(name);
    if (!acc) sums.set(name, (acc = { shape, data: new Float64Array(data.length) }));
    for (let i = 0; i < data.length; i++) acc.data[i] += data[i];
  };
  const tick = (docs: number, tokens: number) => {
    progress.documents += docs;
    progress.tokens += tokens;
    progress.elapsedMs = Date.now() - started;
    o.onProgress?.(progress);
  };
  const batchSize = o.batchSize ?? o.pool.batchSize;
  /** Documents and tokens that count in the stage (the Λ pass may also read documents past the sample, for the index). */
  const sampled = { documents: 0, tokens: 0 };
  const seqTokens = (batch: CorpusItem[]) => batch.reduce((n, it) => n + it.sequence.tokens.length, 0);

  if (stage === 'covariance') {
    await runBatched<CorpusItem, TaskOf<EkfacTask, 'covariance'>, EkfacResults>(
      o.pool,
      items,
      batchSize,
      (batch) => ({ kind: 'covariance', sequences: batch.map((it) => it.sequence), options }),
      (r, batch) => {
        for (const m of r.A) add(`${m.name}.A`, squareShape(m.data.length), m.data);
        for (const m of r.S) add(`${m.name}.S`, squareShape(m.data.length), m.data);
        sampled.documents += batch.length;
        sampled.tokens += r.tokens;
        tick(batch.length, r.tokens);
      },
      o.signal,
      {},
      // Stages are sums, so batches may be formed from length-sorted windows: far less padding.
      BY_TOKEN_COUNT,
    );
  } else {
    const rotate = STRATEGY_SPECS[settings.strategy].lambdaInEigenbases;
    if (rotate) await o.pool.broadcast({ kind: 'setBases', bases: await basesMessage(o.out, manifest) });
    const dims = await moduleDims(o);
    const index = o.index;
    let lambdaItems = items;
    if (index) {
      // Every document of the shard is sketched; those past the sample (maxDocs) take no part in Λ.
      await index.start(await loadEigenModules(o.out, manifest));
      const all = { ...o.corpus, maxDocs: undefined };
      progress.totalDocuments = await countDocuments(all, o.shard, o.signal);
      lambdaItems = corpusItems(all, o.tokenizer, o.bos, settings.maxLen, { shard: o.shard, report, signal: o.signal });
    }
    const inSample = (it: CorpusItem) => it.doc.index < settings.maxDocs;
    await runBatched<CorpusItem, TaskOf<EkfacTask, 'lambda'>, EkfacResults>(
      o.pool,
      lambdaItems,
      batchSize,
      (batch) => {
        const fitted = batch.filter(inSample);
        const sequences = fitted.map((it) => it.sequence);
        return { kind: 'lambda', sequences, options, rotate, index: index && (fitted.length === batch.length ? 'same' : batch.map((it) => it.sequence)) };
      },
      (r, batch) => {
        for (const m of r.sums) add(`${m.name}.lambda`, dims.get(m.name)!, m.data);
        if (index) index.push(batch, r.index!);
        const fitted = batch.filter(inSample);
        sampled.documents += fitted.length;
        sampled.tokens += seqTokens(fitted);
        tick(batch.length, seqTokens(batch));
      },
      o.signal,
      {},
      { ...BY_TOKEN_COUNT, onWindow: () => index?.endWindow() },
    );
  }
  if (report.skippedCount > 0) o.onSkipped?.(report.skipped, report.skippedCount);
  if (sampled.documents === 0) {
    throw new InfluenceLensError('EMPTY_CORPUS', `no documents to fit on${o.shard ? ` in shard ${o.shard.index}/${o.shard.count}` : ''}`, {
      file: o.corpus.path,
    });
  }
  const tensors = new Map<string, HostTensor>();
  for (const [name, { shape, data }] of sums) tensors.set(name, { shape, data: Float32Array.from(data) });
  return { tensors, record: { documents: sampled.documents, tokens: sampled.tokens, skipped: report.skippedCount } };
}

async function countDocuments(corpus: CorpusOptions, shard: Shard | undefined, signal?: AbortSignal): Promise<number> {
  let n = 0;
  for await (const doc of readCorpus(corpus, undefined, signal)) if (inShard(doc.index, shard)) n++;
  return n;
}

/** [out, in] of every tracked module as the workers see it (bias column included). */
async function moduleDims(o: FitOptions): Promise<Map<string, number[]>> {
  const probe = await o.pool.run({ kind: 'capture', sequences: [{ tokens: [o.bos, o.bos] }], options: { labels: 'actual', seed: 0 } });
  return new Map(probe.modules.map((m) => [m.name, [m.outDim, m.inDim]]));
}

function squareShape(length: number): number[] {
  const n = Math.round(Math.sqrt(length));
  return [n, n];
}

/** Eigendecompositions (float64) of the token-averaged covariances A = Σaaᵀ/N and S = Σggᵀ/N. */
function eigenTensors(cov: Map<string, HostTensor>, manifest: FactorManifest): Map<string, HostTensor> {
  const tokens = manifest.stages.covariance!.tokens;
  const out = new Map<string, HostTensor>();
  for (const [key, t] of cov) {
    const [name, which] = [key.slice(0, key.lastIndexOf('.')), key.slice(key.lastIndexOf('.') + 1)];
    const n = t.shape[0];
    const m = Float64Array.from(t.data, (x) => x / tokens);
    const { values, vectors } = symmetricEigen(m, n);
    out.set(`${name}.Q${which}`, { shape: [n, n], data: Float32Array.from(vectors) });
    out.set(`${name}.e${which}`, { shape: [n], data: Float32Array.from(values) });
  }
  return out;
}

async function basesMessage(dir: string, manifest: FactorManifest) {
  const eigen = await readStage(dir, manifest, 'eigen');
  return [...eigen.keys()]
    .filter((k) => k.endsWith('.QA'))
    .map((k) => {
      const name = k.slice(0, -3);
      const QA = eigen.get(`${name}.QA`)!;
      const QS = eigen.get(`${name}.QS`)!;
      return { name, inDim: QA.shape[0], outDim: QS.shape[0], QA: QA.data, QS: QS.data };
    });
}

/**
 * Adds the shards of the first pending corpus-pass stage into the stage itself. Every part is verified
 * first (its record's checksum, its file's hash, for Λ the eigenbasis it was computed with, the same
 * tensors in every part), and sums that overflow to ±Infinity are refused.
 */
export async function mergeShards(dir: string): Promise<{ stage: StageName; shards: number }> {
  const manifest = readManifest(dir);
  if (!manifest) throw new InfluenceLensError('NOT_FOUND', `no factor manifest in ${dir}`, { file: dir });
  for (const stage of stagesFor(manifest.settings.strategy)) {
    if (stage === 'eigen' || (await stageIsValid(dir, manifest, stage))) continue;
    const shards = listShards(dir, stage);
    if (shards.length === 0) throw new InfluenceLensError('FACTORS_INCOMPLETE', `no shards of the ${stage} stage to merge in ${dir}`, { file: dir });
    const n = shards[0].count;
    const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !shards.some((s) => s.index === i && s.count === n));
    if (missing.length > 0 || shards.some((s) => s.count !== n)) {
      throw new InfluenceLensError(
        'FACTORS_INCOMPLETE',
        `the ${stage} stage needs all ${n} shards; missing ${missing.map((i) => `${i}/${n}`).join(', ') || 'none (mixed shard counts)'}`,
        { file: dir },
      );
    }
    const basis = stage === 'lambda' ? (manifest.stages.eigen?.sha256 ?? null) : null;
    const stale = shards.find((s) => s.basis !== basis);
    if (stale) {
      throw new InfluenceLensError(
        'FACTORS_MISMATCH',
        `shard ${stale.index}/${n} of the ${stage} stage was computed with another eigenbasis than the folder's; run fit --shard ${stale.index}/${n} again`,
        {
          file: join(dir, 'shards', stale.file),
        },
      );
    }
    const total = new Map<string, { shape: number[]; data: Float64Array }>();
    for (const s of shards) {
      const part = await readShard(dir, s);
      const file = join(dir, 'shards', s.file);
      if (total.size > 0 && (part.size !== total.size || [...part.keys()].some((k) => !total.has(k)))) {
        throw new InfluenceLensError('FACTORS_MISMATCH', `shard ${s.index}/${n} holds other tensors than shard ${shards[0].index}/${n}`, { file });
      }
      for (const [name, t] of part) {
        let acc = total.get(name);
        if (!acc) total.set(name, (acc = { shape: t.shape, data: new Float64Array(t.data.length) }));
        if (acc.shape.join() !== t.shape.join())
          throw new InfluenceLensError(
            'FACTORS_MISMATCH',
            `tensor "${name}" of shard ${s.index}/${n} has shape ${JSON.stringify(t.shape)}, not ${JSON.stringify(acc.shape)}`,
            { file },
          );
        for (let i = 0; i < t.data.length; i++) acc.data[i] += t.data[i];
      }
    }
    // writeStage refuses sums that are not finite in float32 (an overflow), naming the tensor.
    const tensors = new Map<string, HostTensor>([...total].map(([k, v]) => [k, { shape: v.shape, data: Float32Array.from(v.data) }]));
    const sum = (k: 'documents' | 'tokens' | 'skipped') => shards.reduce((a, s) => a + s[k], 0);
    invalidateFrom(dir, manifest, stage);
    await writeStage(dir, manifest, stage, tensors, { documents: sum('documents'), tokens: sum('tokens'), skipped: sum('skipped'), shards: n });
    removeShards(dir, stage);
    return { stage, shards: n };
  }
  throw new InfluenceLensError('FACTORS_INCOMPLETE', `nothing to merge in ${dir}: every corpus stage is complete`, { file: dir });
}
