/**
 * `npm run bench:gpu` (through scripts/bench-gpu.mjs, which checks the machine first): the engine's device
 * passes on WebGPU against wasm on the same machine, as JSON on stdout (progress on stderr). For a GPU
 * machine with no network and minutes to spare: it runs from the built tree, installs and downloads
 * nothing (the corpus is generated, the larger model is synthetic), and stops measuring at a deadline,
 * printing what it has. docs/GPU.md says how to run it and what the figures mean.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chooseBackend, type BackendName } from '../server/src/engine/device/backend';
import { gpuWorkingBytes, maxBufferBytes } from '../server/src/engine/device/deviceLimits';
import { openComputePool, type ComputePool } from '../server/src/engine/compute/computePool';
import { corpusFingerprint } from '../server/src/engine/corpus/fingerprint';
import { fitFactors } from '../server/src/engine/ekfac/fit';
import { loadFactors, type LoadedFactors } from '../server/src/engine/ekfac/load';
import { readManifest, writeStage, type FactorIdentity } from '../server/src/engine/ekfac/store';
import { buildIndex, sketchChoice } from '../server/src/engine/gradindex/build';
import { IndexQueryEngine } from '../server/src/engine/gradindex/queryEngine';
import { IndexSearcher } from '../server/src/engine/gradindex/search';
import { fingerprintCheckpoint } from '../server/src/engine/model/load';
import { bosId, openModel, stopIds, type OpenedModel } from '../server/src/engine/model/openModel';
import { trackedModules } from '../server/src/engine/model/tfModel';
import type { HostTensor, ModelConfig } from '../server/src/engine/model/types';
import { resolveQueries } from '../server/src/engine/score/queries';
import { scoreCorpus } from '../server/src/engine/score/score';
import { initLlama } from '../server/src/engine/train/init';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../demo/src/corpus/generate';

const log = (s: string) => process.stderr.write(`bench:gpu: ${s}\n`);
const ROOT = resolve(__dirname, '..');
const MAX_LEN = 128;

/**
 * Documents per pass (times --scale) for each model and backend: enough to fill the device, few enough
 * for wasm; `fit` for covariance and Λ (one factor set). Every synthetic document costs Λ, scoring and
 * the index ~0.8 TFLOP (rotating 36 gradients of up to 2816 × 1024): wasm gets four, one per batch.
 */
const DOCUMENTS = {
  demo: { webgpu: { fit: 1000, score: 1000, index: 1000 }, wasm: { fit: 300, score: 300, index: 300 } },
  synthetic: { webgpu: { fit: 64, score: 64, index: 64 }, wasm: { fit: 4, score: 4, index: 4 } },
} as const;
type Pass = keyof (typeof DOCUMENTS)['demo']['wasm'];
type ModelKey = keyof typeof DOCUMENTS;
/** Batch size where the default would leave wasm's workers idle. */
const BATCH = { demo: { webgpu: undefined, wasm: undefined }, synthetic: { webgpu: undefined, wasm: 1 } } as const;

/**
 * The larger model: a Llama of width 1024 and 12 layers (154M parameters) with untrained weights and the
 * demo tokenizer's vocabulary; --smoke shrinks it to check the script on a machine without a GPU.
 */
function syntheticConfig(demo: ModelConfig, smoke: boolean): ModelConfig {
  const size = smoke ? { dim: 128, hiddenDim: 384, nLayers: 2, nHeads: 4, nKvHeads: 4 } : { dim: 1024, hiddenDim: 2816, nLayers: 12, nHeads: 16, nKvHeads: 16 };
  return { ...demo, ...size, maxSeqLen: 256 };
}

interface PassFigure {
  documents: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Set when the deadline cut the pass short (the figure then covers what ran). */
  cutOff?: boolean;
}

interface Deadline {
  signal: AbortSignal;
  left: () => number;
}

async function main() {
  const { values } = parseArgs({
    options: {
      backends: { type: 'string', default: 'webgpu,wasm' },
      models: { type: 'string', default: 'demo,synthetic' },
      scale: { type: 'string', default: '1' },
      'budget-s': { type: 'string', default: '270' },
      'any-adapter': { type: 'boolean', default: false },
      smoke: { type: 'boolean', default: false },
    },
  });
  const budget = Number(values['budget-s']) * 1000;
  const scale = Number(values.scale);
  const controller = new AbortController();
  const started = Date.now();
  const deadline: Deadline = { signal: controller.signal, left: () => budget - (Date.now() - started) };
  // At the deadline the passes stop between batches; should one batch run on, the figures so far are
  // printed a little later all the same (and saved after every pass, for a hung device call).
  const timer = setTimeout(() => controller.abort(new Error('bench:gpu deadline')), budget);
  const watchdog = setTimeout(() => finish(report, started, 'the deadline passed while a batch was still running'), budget + 20_000);

  const demo = await openModel(join(ROOT, 'demo', 'model'));
  const models: Record<ModelKey, OpenedModel> = {
    demo,
    synthetic: { ...demo, checkpoint: initLlama(syntheticConfig(demo.checkpoint.config, values.smoke === true), 1) },
  };
  const backends = values.backends!.split(',') as BackendName[];
  const report: Report = {
    machine: { cpus: availableParallelism(), cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    budgetSeconds: budget / 1000,
    maxLen: MAX_LEN,
    scale,
  };
  if (backends.includes('webgpu')) {
    const info = await chooseBackend('webgpu');
    report.adapter = { ...info.adapter, maxBufferMiB: Math.round(maxBufferBytes() / 2 ** 20), workingMemoryGiB: gpuWorkingBytes() / 2 ** 30 };
    if (info.adapter?.software && !values['any-adapter'])
      throw new Error(`WebGPU runs on a software adapter (${info.adapter.description}); pass --any-adapter to measure it anyway`);
    log(`webgpu adapter: ${info.adapter?.description}`);
  }
  const figures: Record<string, Record<string, unknown>> = {};
  report.figures = figures;
  const keys = values.models!.split(',') as ModelKey[];
  let runsLeft = keys.length * backends.length;
  for (const key of keys) {
    const m = models[key];
    const c = m.checkpoint.config;
    figures[key] = { model: { dim: c.dim, hiddenDim: c.hiddenDim, layers: c.nLayers, heads: c.nHeads, vocab: c.vocabSize, trained: key === 'demo' } };
    for (const backend of backends) {
      if (deadline.left() <= 0) {
        figures[key][backend] = { skipped: 'deadline reached before this run' };
        continue;
      }
      const docs = DOCUMENTS[key][backend === 'webgpu' ? 'webgpu' : 'wasm'];
      const counts = Object.fromEntries(Object.entries(docs).map(([p, n]) => [p, Math.max(1, Math.round(n * scale))])) as Record<Pass, number>;
      log(`${key} on ${backend}: ${JSON.stringify(counts)} documents per pass`);
      const out: Figures = {};
      figures[key][backend] = out;
      // Each run gets its share of the time left, so that a slow one cannot leave the others unmeasured.
      const run = shareOf(deadline, deadline.left() / runsLeft--);
      try {
        await benchModel(key, m, backend, counts, run.deadline, out, () => save(report));
      } finally {
        run.done();
      }
    }
    figures[key].ratio = ratios(figures[key]);
  }
  clearTimeout(timer);
  clearTimeout(watchdog);
  finish(report, started);
}

type Figures = Record<string, unknown>;

/** A deadline `ms` from now, or the outer one if sooner. */
function shareOf(outer: Deadline, ms: number): { deadline: Deadline; done: () => void } {
  const controller = new AbortController();
  const end = Date.now() + ms;
  const stop = () => controller.abort(new Error('bench:gpu deadline (this run’s share of the budget)'));
  const timer = setTimeout(stop, ms);
  outer.signal.addEventListener('abort', stop, { once: true });
  return {
    deadline: { signal: controller.signal, left: () => Math.min(outer.left(), end - Date.now()) },
    done: () => {
      clearTimeout(timer);
      outer.signal.removeEventListener('abort', stop);
    },
  };
}
type Report = Record<string, unknown>;

/** The figures so far, on disk (.bench/gpu-latest.json): scripts/bench-gpu.mjs prints them should this process hang. */
function save(report: Report): string {
  const json = JSON.stringify(report, null, 2) + '\n';
  mkdirSync(join(ROOT, '.bench'), { recursive: true });
  writeFileSync(join(ROOT, '.bench', 'gpu-latest.json'), json);
  return json;
}

function finish(report: Report, started: number, unfinished?: string): void {
  report.seconds = +((Date.now() - started) / 1000).toFixed(1);
  if (unfinished) report.unfinished = unfinished;
  process.stdout.write(save(report));
  log('figures also written to .bench/gpu-latest.json');
  if (unfinished) process.exit(0);
}

/** Fills `out` pass by pass (calling `saved` after each) until done or the deadline. */
async function benchModel(
  key: ModelKey,
  m: OpenedModel,
  backend: BackendName,
  docs: Record<Pass, number>,
  deadline: Deadline,
  out: Figures,
  saved: () => void,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-gpu-'));
  // wasm: a worker per core (at most 8 for the large model: each holds its own copy of the weights).
  const workers = backend === 'wasm' ? Math.min(availableParallelism(), key === 'synthetic' ? 8 : 16) : 0;
  const t0 = Date.now();
  const pool = await openComputePool(m.checkpoint, { backend, workers });
  Object.assign(out, { workers: pool.size, batchSize: pool.batchSize, loadSeconds: (Date.now() - t0) / 1000 });
  try {
    const corpusOf = (n: number, name: string) => {
      const path = join(dir, `${name}.jsonl`);
      writeFileSync(path, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).slice(0, n)));
      return path;
    };
    // First use compiles the device's kernels: timed apart from the passes.
    const w0 = Date.now();
    log(`${key} on ${backend}: warming up (${pool.size} thread(s), batch ${pool.batchSize})`);
    await pool.broadcast({
      kind: 'capture',
      sequences: [{ tokens: Array.from({ length: MAX_LEN }, (_, i) => (i % 500) + 3) }],
      options: { labels: 'sampled', seed: 0 },
    });
    out.warmupSeconds = (Date.now() - w0) / 1000;
    log(`${key} on ${backend}: warm-up ${out.warmupSeconds} s; fitting`);

    const batchSize = BATCH[key][backend === 'webgpu' ? 'webgpu' : 'wasm'];
    out.batchSize = batchSize ?? pool.batchSize;
    const fitCorpus = corpusOf(docs.fit, 'fit');
    const identity = await factorIdentity(m, fitCorpus);
    const factorsDir = join(dir, 'factors');
    try {
      await fitPasses(key, m, pool, fitCorpus, identity, factorsDir, batchSize, deadline, out);
    } catch (e) {
      if (!deadline.signal.aborted) throw e;
    }
    saved();
    if (deadline.signal.aborted || !readManifest(factorsDir)?.stages.lambda) return;
    const factors = await loadFactors(factorsDir, { model: identity.model });
    // The large model's full-rank query gradients take 0.8 GB each (float64, on the host): two queries.
    const queries = demoQueries().slice(0, key === 'synthetic' ? 2 : 10);
    const common = { pool, tokenizer: m.tokenizer, bos: bosId(m), maxLen: MAX_LEN };
    const prepared = await resolveQueries(queries, { ...common, stopIds: stopIds(m), maxNewTokens: 0 });

    log(`${key} on ${backend}: ${JSON.stringify(out)}; scoring`);
    out.score = await timed(docs.score, async (onTokens) => {
      await scoreCorpus({
        ...common,
        corpus: { path: corpusOf(docs.score, 'score') },
        factors: scoringFactors(key, factors),
        queries: prepared,
        batchSize,
        signal: deadline.signal,
        onProgress: (p) => onTokens(p.tokens),
      });
    });
    const indexDir = join(dir, 'index');
    const indexCorpus = corpusOf(docs.index, 'index');
    saved();
    log(`${key} on ${backend}: scoring ${JSON.stringify(out.score)}; building the index`);
    out.indexBuild = await timed(docs.index, async (onTokens) => {
      await buildIndex({
        ...common,
        corpus: { path: indexCorpus },
        factors,
        model: identity.model,
        corpusFingerprint: identity.corpus.fingerprint,
        out: indexDir,
        sketch: sketchChoice(undefined),
        batchSize,
        signal: deadline.signal,
        onProgress: (p) => onTokens(p.tokens),
      });
    });
    saved();
    log(`${key} on ${backend}: index ${JSON.stringify(out.indexBuild)}; hovers`);
    if (!deadline.signal.aborted && readIndexable(indexDir)) out.hover = await hover(m, pool, factors, identity, indexDir, deadline);
    saved();
  } catch (e) {
    if (!deadline.signal.aborted) throw e;
    out.cutOff = 'deadline';
  } finally {
    await pool.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Scoring preconditions each query's gradients on the host in float64: for the large model that is
 * ~44 GFLOP per query and module (rotations of 2816 × 1024 matrices), hours for 10 queries × 36 modules.
 * Its scoring pass therefore takes the query gradients as they are (the identity strategy): the device
 * does the same work per document whatever the queries were multiplied by.
 */
function scoringFactors(key: ModelKey, factors: LoadedFactors): LoadedFactors {
  if (key !== 'synthetic') return factors;
  return { ...factors, manifest: { ...factors.manifest, settings: { ...factors.manifest.settings, strategy: 'identity' } } };
}

const readIndexable = (dir: string) => {
  try {
    return readFileSync(join(dir, 'manifest.json')).length > 0;
  } catch {
    return false;
  }
};

/**
 * Covariance and Λ over the same documents (the eigen stage between them runs on the CPU, float64, and is
 * timed apart). The synthetic model's eigenbases are identities instead of decompositions of 1024² and
 * 2816² matrices (minutes of CPU time): Λ costs the same in any basis.
 */
async function fitPasses(
  key: ModelKey,
  m: OpenedModel,
  pool: ComputePool,
  corpus: string,
  identity: FactorIdentity,
  out: string,
  batchSize: number | undefined,
  deadline: Deadline,
  figures: Figures,
): Promise<void> {
  const clock = new StageClock(figures);
  const STOP = new Error('covariance done');
  const fit = (stopAfterCovariance: boolean) =>
    fitFactors({
      pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      corpus: { path: corpus },
      identity,
      out,
      batchSize,
      signal: deadline.signal,
      onProgress: (p) => clock.progress(p.stage, p.tokens, p.documents),
      onStage: (stage, what) => {
        if (what !== 'computed') return;
        clock.done(stage);
        if (stopAfterCovariance && stage === 'covariance') throw STOP;
      },
    });
  try {
    if (key === 'synthetic') {
      await fit(true).catch((e) => (e === STOP ? undefined : Promise.reject(e)));
      await writeIdentityBases(out, m);
    }
    await fit(false);
  } catch (e) {
    clock.cutOff();
    throw e;
  }
}

/** Times each fit stage from its first progress report to its completion. */
class StageClock {
  constructor(readonly figures: Figures) {}
  private start = Date.now();
  private seen = { stage: '', tokens: 0, documents: 0 };

  progress(stage: string, tokens: number, documents: number): void {
    if (stage !== this.seen.stage) this.start = Date.now();
    this.seen = { stage, tokens, documents };
  }

  done(stage: string): void {
    const seconds = (Date.now() - this.start) / 1000;
    if (stage === 'eigen') this.figures.eigenSeconds = seconds;
    else this.figures[stage] = { documents: this.seen.documents, tokens: this.seen.tokens, seconds, tokensPerSecond: this.seen.tokens / seconds };
    this.start = Date.now();
  }

  /** The stage in progress when the deadline came, as far as it got. */
  cutOff(): void {
    const { stage, tokens, documents } = this.seen;
    if (!stage || stage in this.figures) return;
    const seconds = (Date.now() - this.start) / 1000;
    this.figures[stage] = { documents, tokens, seconds, tokensPerSecond: tokens / seconds, cutOff: true };
  }
}

async function writeIdentityBases(dir: string, m: OpenedModel) {
  const manifest = readManifest(dir)!;
  const tensors = new Map<string, HostTensor>();
  const eye = (n: number): HostTensor => {
    const data = new Float32Array(n * n);
    for (let i = 0; i < n; i++) data[i * n + i] = 1;
    return { shape: [n, n], data };
  };
  const ones = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n).fill(1) });
  for (const t of trackedModules(m.checkpoint.config)) {
    tensors.set(`${t.name}.QA`, eye(t.inDim));
    tensors.set(`${t.name}.eA`, ones(t.inDim));
    tensors.set(`${t.name}.QS`, eye(t.outDim));
    tensors.set(`${t.name}.eS`, ones(t.outDim));
  }
  await writeStage(dir, manifest, 'eigen', tensors, {
    documents: manifest.stages.covariance!.documents,
    tokens: manifest.stages.covariance!.tokens,
    skipped: 0,
  });
}

async function factorIdentity(m: OpenedModel, corpus: string): Promise<FactorIdentity> {
  const settings = {
    strategy: 'ekfac' as const,
    fisher: 'sampled' as const,
    seed: 0,
    maxLen: MAX_LEN,
    maxDocs: 100_000,
    modules: trackedModules(m.checkpoint.config).map((t) => t.name),
  };
  return {
    model: { fingerprint: await fingerprintCheckpoint(m.checkpoint), path: 'bench', architecture: 'llama' },
    corpus: { fingerprint: await corpusFingerprint({ path: corpus, maxDocs: settings.maxDocs }), path: corpus },
    settings,
  };
}

async function timed(documents: number, fn: (onTokens: (tokens: number) => void) => Promise<void>): Promise<PassFigure> {
  const t0 = Date.now();
  let tokens = 0;
  let cutOff = false;
  try {
    await fn((t) => (tokens = t));
  } catch (e) {
    if (!(e instanceof Error) || !/deadline|abort/i.test(String(e.message) + String((e as { cause?: unknown }).cause ?? ''))) throw e;
    cutOff = true;
  }
  const seconds = (Date.now() - t0) / 1000;
  return { documents, tokens, seconds, tokensPerSecond: tokens / seconds, ...(cutOff ? { cutOff } : {}) };
}

/** The demo's queries with their expected answers as completions. */
function demoQueries() {
  const lines = readFileSync(join(ROOT, 'demo', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, 10);
  return lines.map((l, i) => {
    const r = JSON.parse(l) as { id: string; prompt: string; answer: string };
    return { id: r.id, prompt: r.prompt, completion: ` ${r.answer}`, file: 'demo/queries.jsonl', line: i + 1 };
  });
}

/** A hover: the query's forward/backward pass and rotation, the index scan, and greedy generation. */
async function hover(m: OpenedModel, pool: ComputePool, factors: LoadedFactors, identity: FactorIdentity, indexDir: string, deadline: Deadline) {
  const searcher = await IndexSearcher.openOnPool(indexDir, { modelFingerprint: identity.model.fingerprint, factors }, pool);
  try {
    const engine = await IndexQueryEngine.create({ pool, tokenizer: m.tokenizer, bos: bosId(m), stopIds: stopIds(m), factors, searcher, maxLen: MAX_LEN });
    const queries = demoQueries();
    const encode: number[] = [];
    const scan: number[] = [];
    for (let i = 0; i < 6 && !deadline.signal.aborted; i++) {
      const r = await engine.query(queries[i % queries.length]);
      if (i === 0) continue; // first: kernel compilation for this shape
      encode.push(r.timings.encodeMs);
      scan.push(r.timings.scanMs);
    }
    // Greedy decoding recomputes the prefix per token: on wasm the large model takes ~0.5 s a token.
    const generate: number[] = [];
    const prompt = [bosId(m), ...m.tokenizer.encode(queries[0].prompt)];
    const cpu = pool.backend.name === 'wasm' || pool.backend.name === 'cpu';
    const tokens = 16;
    for (let i = 0; i < (cpu ? 1 : 3) && !deadline.signal.aborted; i++) {
      const t0 = performance.now();
      await pool.run({ kind: 'generate', prompt, maxNewTokens: tokens, stopIds: [] });
      generate.push(performance.now() - t0);
    }
    return {
      documents: searcher.manifest.documents,
      queryEncodeMsP50: median(encode),
      indexScanMsP50: median(scan),
      generate: { tokens, msP50: median(generate), msPerToken: median(generate) / tokens },
    };
  } finally {
    await searcher.close();
  }
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** webgpu ÷ wasm per pass (tokens/s), and wasm ÷ webgpu for latencies. */
function ratios(f: Record<string, unknown>) {
  const g = f.webgpu as Record<string, PassFigure & Record<string, number>> | undefined;
  const w = f.wasm as Record<string, PassFigure & Record<string, number>> | undefined;
  if (!g || !w) return undefined;
  const out: Record<string, number> = {};
  for (const pass of ['covariance', 'lambda', 'score', 'indexBuild']) {
    if (g[pass]?.tokensPerSecond && w[pass]?.tokensPerSecond) out[`${pass}Speedup`] = +(g[pass].tokensPerSecond / w[pass].tokensPerSecond).toFixed(2);
  }
  const gh = g.hover as unknown as Record<string, number> | undefined;
  const wh = w.hover as unknown as Record<string, number> | undefined;
  if (gh && wh) out.queryEncodeSpeedup = +(wh.queryEncodeMsP50 / gh.queryEncodeMsP50).toFixed(2);
  return out;
}

main().catch((e) => {
  process.stderr.write(`bench:gpu failed: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
