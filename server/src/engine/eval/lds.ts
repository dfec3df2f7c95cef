/**
 * The linear datamodeling score (Park et al. 2023) of each attribution method (docs/EVALUATION.md):
 *
 * 1. A model is trained on the whole corpus (the model attributions are computed for), and M models on
 *    random subsets of a fixed fraction (seeded), every one from the same initialisation.
 * 2. Every query's completion loss is measured on every subset model.
 * 3. Each method scores every document for every query on the full model; its prediction for subset S
 *    is −Σ_{d∈S} score(q, d) and the LDS of a query is Spearman's ρ between predictions and losses.
 *
 * Everything is cached under `<out>/<setup key>/`: the full model, each subset model with its losses
 * (`models/NNN/`), factors, index and score matrices; a rerun only does what is missing, and a change
 * of corpus, tokenizer or training settings gets a new setup key (a new folder).
 */
import { cpus } from 'node:os';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { openComputePool, type ComputePool } from '../compute/computePool';
import type { BackendRequest } from '../device/backend';
import { corpusFingerprint } from '../corpus/fingerprint';
import { readCorpusAll } from '../corpus/corpus';
import { InfluenceLensError } from '../errors';
import { writeHuggingFaceFolder } from '../model/huggingface';
import { loadCheckpoint } from '../model/load';
import type { Checkpoint } from '../model/types';
import type { QueryRecord } from '../queries/types';
import { ModelRun } from '../runs/modelRun';
import type { RunHooks } from '../runs/progress';
import { prepareQueries } from '../runs/queries';
import { loadHuggingFaceTokenizer } from '../tokenizer/huggingface';
import { writeTextAtomically } from '../util/atomic';
import { Rng } from '../util/random';
import { TOOL_VERSION } from '../version';
import { attribute } from './attribute';
import { completionLosses, ldsInit, setPoolParams, trainLdsModel, type LdsTraining, type QueryTokens } from './ldsTrain';
import { linearDatamodelingScore, meanSe, type MeanSe } from './metrics';
import type { Method } from './methods';
import { cacheKey } from './scoreCache';

export interface LdsRequest {
  /** JSONL corpus (the documents trained on). */
  corpus: string;
  /** Folder with tokenizer.json (and tokenizer_config.json). */
  tokenizer: string;
  /** Queries with their completions (the measured text). */
  queries: QueryRecord[];
  out: string;
  models: number;
  fraction: number;
  subsetSeed: number;
  training: LdsTraining;
  methods: Method[];
  rerank: number;
  backend?: BackendRequest;
  workers?: number;
}

export interface LdsMethodRow {
  method: Method;
  lds: MeanSe;
  /** Per kind of query. */
  byKind: Record<string, MeanSe>;
  seconds: number | null;
}

export interface LdsReport {
  tool: string;
  createdAt: string;
  dir: string;
  documents: number;
  queries: number;
  models: number;
  fraction: number;
  training: LdsTraining;
  /** Per model: training wall seconds and process CPU seconds (all threads), when trained in this folder. */
  trainingTime: { full: TrainRecord; subsets: { wall: MeanSe; cpu: MeanSe } };
  /** Mean over queries of the sd of its loss across subset models, and of its loss on the full model. */
  losses: { fullMean: number; subsetSd: number };
  machine: string;
  methods: LdsMethodRow[];
  perQuery: { id: string; kind: string | null; lds: Record<string, number | null> }[];
}

interface TrainRecord {
  wallSeconds: number;
  cpuSeconds: number;
  steps: number;
}

interface SubsetRecord extends TrainRecord {
  documents: number[];
  queriesKey: string;
  losses: number[];
}

/** Subset m: ⌊fraction·N⌋ distinct document positions, ascending (seeded by subsetSeed and m). */
export function ldsSubset(n: number, fraction: number, seed: number, m: number): number[] {
  const rng = new Rng(seed, 0x1d5 + m);
  const idx = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [idx[i], idx[j]] = [idx[j], idx[i]];
  }
  return idx.slice(0, Math.floor(fraction * n)).sort((a, b) => a - b);
}

export async function runLds(r: LdsRequest, hooks: RunHooks = {}): Promise<LdsReport> {
  if (r.queries.some((q) => q.completion === undefined)) {
    throw new InfluenceLensError('INVALID_OPTION', 'LDS measures fixed completions: every query needs a "completion"', { file: r.queries[0]?.file });
  }
  const tokenizer = loadHuggingFaceTokenizer(r.tokenizer);
  const corpus = { path: r.corpus };
  const docs = await readCorpusAll(corpus, undefined, hooks.signal);
  const sequences = docs.map((d) => [tokenizer.bosId, ...tokenizer.encode(d.text), tokenizer.eosId]);
  const tokenizerJson = readFileSync(join(r.tokenizer, 'tokenizer.json'), 'utf8');
  const setup = {
    v: 1,
    corpus: await corpusFingerprint(corpus, hooks.signal),
    tokenizer: cacheKey(tokenizerJson),
    training: r.training,
    fraction: r.fraction,
    subsetSeed: r.subsetSeed,
  };
  const dir = join(r.out, cacheKey(setup).slice(0, 12));
  mkdirSync(join(dir, 'models'), { recursive: true });
  writeTextAtomically(join(dir, 'setup.json'), JSON.stringify(setup, null, 1) + '\n');
  hooks.log?.(`LDS setup ${dir}: ${docs.length} documents, ${r.models} subset models of ${Math.floor(r.fraction * docs.length)}, ${r.queries.length} queries`);

  const queryTokens: QueryTokens[] = r.queries.map((q) => ({
    prompt: [tokenizer.bosId, ...tokenizer.encode(q.prompt)],
    completion: tokenizer.encode(q.completion!),
  }));
  const queriesKey = cacheKey(queryTokens);
  const init = ldsInit(r.training, tokenizer);
  const fullDir = join(dir, 'full');
  let pool: ComputePool | undefined;
  const getPool = async () => (pool ??= await openComputePool(init, { backend: r.backend, workers: r.workers }));
  const trainTimed = async (documents: number[][], label: string): Promise<{ checkpoint: Checkpoint; record: TrainRecord }> => {
    const p = await getPool();
    const wall = Date.now();
    const cpu = process.cpuUsage();
    const started = Date.now();
    let steps = 0;
    const checkpoint = await trainLdsModel(p, init, documents, r.training, {
      signal: hooks.signal,
      onStep: (step, total) => {
        steps = total;
        hooks.onProgress?.({ stage: label, done: step, total, elapsedMs: Date.now() - started });
      },
    });
    const used = process.cpuUsage(cpu);
    return { checkpoint, record: { wallSeconds: (Date.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6, steps } };
  };

  try {
    // 1. The full model.
    let fullRecord: TrainRecord;
    if (existsSync(join(fullDir, 'training.json'))) fullRecord = JSON.parse(readFileSync(join(fullDir, 'training.json'), 'utf8')) as TrainRecord;
    else {
      const { checkpoint, record } = await trainTimed(sequences, 'train full model');
      writeHuggingFaceFolder(fullDir, checkpoint);
      for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (existsSync(join(r.tokenizer, f))) copyFileSync(join(r.tokenizer, f), join(fullDir, f));
      writeTextAtomically(join(fullDir, 'training.json'), JSON.stringify(record) + '\n');
      fullRecord = record;
    }

    // 2. Subset models and their query losses.
    const subsets: SubsetRecord[] = [];
    const subsetsStarted = Date.now();
    for (let m = 0; m < r.models; m++) {
      const mdir = join(dir, 'models', String(m).padStart(3, '0'));
      const recordFile = join(mdir, 'losses.json');
      const documents = ldsSubset(docs.length, r.fraction, r.subsetSeed, m);
      const old = existsSync(recordFile) ? (JSON.parse(readFileSync(recordFile, 'utf8')) as SubsetRecord) : undefined;
      if (old && old.queriesKey === queriesKey) {
        subsets.push(old);
        continue;
      }
      let record: TrainRecord;
      const p = await getPool();
      if (old && existsSync(join(mdir, 'model.safetensors'))) {
        // Trained before, queries changed: measure again without retraining.
        await setPoolParams(p, loadCheckpoint(mdir));
        record = old;
      } else {
        const trained = await trainTimed(
          documents.map((d) => sequences[d]),
          `train subset model ${m + 1}/${r.models}`,
        );
        writeHuggingFaceFolder(mdir, trained.checkpoint);
        await setPoolParams(p, trained.checkpoint);
        record = trained.record;
      }
      const losses = await completionLosses(p, queryTokens);
      const rec: SubsetRecord = { ...record, documents, queriesKey, losses };
      writeTextAtomically(recordFile, JSON.stringify(rec) + '\n');
      subsets.push(rec);
      hooks.onProgress?.({ stage: 'subset models', done: m + 1, total: r.models, elapsedMs: Date.now() - subsetsStarted });
    }
    await pool?.dispose();
    pool = undefined;

    // 3. Attributions on the full model, and the LDS of each method.
    const run = await ModelRun.open({ model: fullDir, backend: r.backend, workers: r.workers });
    try {
      const prepared = await prepareQueries(run, r.queries, { maxLen: r.training.maxSeqLen }, hooks);
      if (prepared.skipped.length > 0)
        throw new InfluenceLensError('INVALID_OPTION', `queries too long for the LDS model: ${prepared.skipped.map((s) => s.id).join(', ')}`);
      const fullLosses = prepared.queries.map(() => 0);
      const a = await attribute(
        run,
        { corpus, queries: prepared.queries, methods: r.methods, work: join(dir, 'attributions'), maxLen: r.training.maxSeqLen, rerank: r.rerank },
        hooks,
      );
      const D = a.documents.length;
      await setPoolParams(run.pool, run.checkpoint);
      (await completionLosses(run.pool, queryTokens)).forEach((l, i) => (fullLosses[i] = l));
      const perQuery: LdsReport['perQuery'] = r.queries.map((q) => ({ id: q.id, kind: q.kind ?? null, lds: {} }));
      const rows: LdsMethodRow[] = [...a.scores].map(([method, scores]) => {
        const values = r.queries.map((_, q) => {
          const v = linearDatamodelingScore(
            scores.subarray(q * D, (q + 1) * D),
            subsets.map((s) => s.documents),
            subsets.map((s) => s.losses[q]),
          );
          perQuery[q].lds[method] = Number.isFinite(v) ? v : null;
          return v;
        });
        const kinds = [...new Set(r.queries.map((q) => q.kind ?? 'unlabelled'))];
        const byKind = Object.fromEntries(kinds.map((k) => [k, meanSe(values.filter((_, q) => (r.queries[q].kind ?? 'unlabelled') === k))]));
        return { method, lds: meanSe(values), byKind, seconds: a.seconds.get(method) ?? null };
      });
      const trained = subsets.filter((s) => s.wallSeconds > 0);
      const sdOf = (q: number) => meanSe(subsets.map((s) => s.losses[q])).se * Math.sqrt(subsets.length);
      const report: LdsReport = {
        tool: TOOL_VERSION,
        createdAt: new Date().toISOString(),
        dir,
        documents: D,
        queries: r.queries.length,
        models: subsets.length,
        fraction: r.fraction,
        training: r.training,
        trainingTime: { full: fullRecord, subsets: { wall: meanSe(trained.map((s) => s.wallSeconds)), cpu: meanSe(trained.map((s) => s.cpuSeconds)) } },
        losses: { fullMean: meanSe(fullLosses).mean, subsetSd: meanSe(r.queries.map((_, q) => sdOf(q))).mean },
        machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, backend ${run.backend.name} × ${run.pool.size} thread(s)`,
        methods: rows,
        perQuery,
      };
      writeTextAtomically(join(dir, 'lds.json'), JSON.stringify(report, null, 1) + '\n');
      writeTextAtomically(join(r.out, 'latest'), dir + '\n');
      return report;
    } finally {
      await run.dispose();
    }
  } finally {
    await pool?.dispose();
  }
}
