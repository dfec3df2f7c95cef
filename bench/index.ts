/**
 * Gradient-index figures: build speed, size, load time, query latency (cold and warm) on stories260K +
 * TinyStories and on the demo model + demo corpus, and a synthetic 100k-document index for scaling.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ComputePool } from '../server/src/engine/backend/pool';
import type { LoadedFactors } from '../server/src/engine/ekfac/load';
import { DEFAULT_INDEX_DIM, factorsFingerprint, indexModule } from '../server/src/engine/index/build';
import { quantizeQuery } from '../server/src/engine/index/scan';
import { IndexSearcher } from '../server/src/engine/index/search';
import { ChunkWriter, packRow, writeDocuments, writeManifest, bytesPerRow } from '../server/src/engine/index/store';
import { BLOCK, INDEX_VERSION, type IndexManifest } from '../server/src/engine/index/types';
import { runIndexBuild } from '../server/src/engine/runs/buildIndex';
import { openFactorSet, type FactorSet } from '../server/src/engine/runs/factors';
import { runFit } from '../server/src/engine/runs/fit';
import { openIndexQueries } from '../server/src/engine/runs/indexQueries';
import { ModelRun } from '../server/src/engine/runs/modelRun';
import { Rng } from '../server/src/engine/util/random';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../demo/src/corpus/generate';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Query {
  prompt: string;
  completion: string;
}

/** A fitted model and corpus to index. */
export interface IndexBenchInput {
  run: ModelRun;
  factors: FactorSet;
  corpus: { path: string };
}

/** Builds the default index over a corpus, opens it, and times 40 queries through the in-process engine. */
async function measure({ run, factors, corpus }: IndexBenchInput, queries: Query[], label: string, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-index-'));
  try {
    const t0 = Date.now();
    let tokens = 0;
    const manifest = await runIndexBuild(run, factors, { corpus, out: dir }, { onProgress: (p) => (tokens = p.tokens ?? tokens) });
    const buildSeconds = (Date.now() - t0) / 1000;
    const open = async (on: ModelRun) => {
      const l0 = performance.now();
      const index = await openIndexQueries(on, factors, dir);
      return { index, seconds: (performance.now() - l0) / 1000 };
    };
    // As the language server opens it: compute threads started for the queries (ended after them, which
    // frees their scan memories at once; a closed part's memory lingers until its thread collects garbage)…
    const fresh = await ModelRun.open({ ...run.options, modules: factors.factors.manifest.settings.modules });
    const latencies: number[] = [];
    const encode: number[] = [];
    const scan: number[] = [];
    let loadSeconds: number;
    let inMemory: boolean;
    try {
      const { index, seconds } = await open(fresh);
      loadSeconds = seconds;
      inMemory = index.searcher.inMemory;
      for (let i = 0; i < 40; i++) {
        const q0 = performance.now();
        const { timings } = await index.engine.query(queries[i % queries.length]);
        latencies.push(performance.now() - q0);
        encode.push(timings.encodeMs);
        scan.push(timings.scanMs);
      }
      await index.close();
    } finally {
      await fresh.dispose();
    }
    // …then in the threads that built it.
    const afterBuild = await open(run);
    await afterBuild.index.close();
    const cold = latencies[0];
    const warm = latencies.slice(1);
    const out = {
      dim: DEFAULT_INDEX_DIM,
      documents: manifest.documents,
      entriesPerDocument: manifest.entries,
      bytesPerDocument: bytesPerRow(manifest),
      inMemory,
      buildTokensPerSecond: tokens / buildSeconds,
      loadSeconds,
      loadAfterBuildSeconds: afterBuild.seconds,
      queryMs: { cold, warmP50: percentile(warm, 50), warmP95: percentile(warm, 95) },
      // The query's own forward/backward pass + rotation, and the scan, warm.
      encodeMsP50: percentile(encode.slice(1), 50),
      scanMsP50: percentile(scan.slice(1), 50),
    };
    log(`index ${label}: build ${Math.round(out.buildTokensPerSecond)} tok/s, ${out.bytesPerDocument} B/doc, load ${loadSeconds.toFixed(2)} s (then in the threads that built it: ${afterBuild.seconds.toFixed(2)} s), query cold ${cold.toFixed(0)} ms, warm p50 ${out.queryMs.warmP50.toFixed(0)} / p95 ${out.queryMs.warmP95.toFixed(0)} ms (encode p50 ${out.encodeMsP50.toFixed(0)}, scan p50 ${out.scanMsP50.toFixed(0)}; ${manifest.documents} docs)`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** stories260K over TinyStories (factors from the EK-FAC benchmark), then the synthetic 100k index. */
export async function benchIndex(input: IndexBenchInput, log: (s: string) => void) {
  const prompts = ['Once upon a time, there was a girl named', 'The dog ran to the', 'Tom and Sue found a', 'The sky was', 'Mom gave the boy a'];
  const stories = await measure(input, prompts.map((prompt) => ({ prompt, completion: ' big red ball.' })), 'stories260K', log);
  const model = await input.run.modelId();
  return { stories, synthetic100k: await synthetic(input.run.pool, input.factors.factors, model, log) };
}

/** The demo model over the full demo corpus (4,000 documents): fit, then the default index and its queries. */
export async function benchDemoIndex(workers: number, log: (s: string) => void) {
  const root = resolve(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-demo-'));
  const run = await ModelRun.open({ model: join(root, 'demo', 'model'), backend: 'wasm', workers });
  try {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
    const maxLen = 256;
    const t0 = Date.now();
    await runFit(run, { corpus: { path: corpus }, out: join(dir, 'factors'), maxLen });
    log(`demo fit: ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const factors = await openFactorSet(run, join(dir, 'factors'));
    const records = readFileSync(join(root, 'demo', 'queries.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { prompt: string; answer: string });
    const queries = records.map((r) => ({ prompt: r.prompt, completion: ` ${r.answer}` }));
    return await measure({ run, factors, corpus: { path: corpus } }, queries, 'demo', log);
  } finally {
    await run.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A 100k-document index of random rows (16 blocks, 128 entries, per module of stories260K's 15): load and scan speed. */
async function synthetic(pool: ComputePool, factors: LoadedFactors, model: { fingerprint: string; path: string; architecture: string }, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-100k-'));
  try {
    const D = 100_000;
    const dim = '128';
    const modules = factors.modules.map((f) => indexModule(f.name, f.eigen!.outDim, f.eigen!.inDim, dim));
    const kept = modules[0].kept;
    const K = kept * modules.length;
    const layout = { modules, entries: K * BLOCK, settings: { dim, maxLen: 256, damping: {}, positions: 'U16', values: 'I8' } as const };
    const rng = new Rng(7);
    mkdirSync(dir, { recursive: true });
    const writer = new ChunkWriter(dir, layout);
    for (let d = 0; d < D; d++) {
      // Distinct blocks: one random block in each of `kept` equal strides of a module.
      const blocks = Uint32Array.from({ length: K }, (_, k) => {
        const stride = modules[Math.floor(k / kept)].blocks / kept;
        return Math.floor((k % kept) * stride + rng.next() * stride);
      });
      writer.push(packRow(blocks, Float32Array.from({ length: K * BLOCK }, () => rng.normal()), modules.map(() => kept), modules.map((m) => m.blocks)));
    }
    writer.flush();
    const docs = writeDocuments(dir, Array.from({ length: D }, (_, i) => ({ index: i, id: `s${i}`, source: 'synthetic', tokens: 100, file: 'synthetic' })));
    const manifest: IndexManifest = {
      version: INDEX_VERSION, tool: 'bench', model, corpus: { fingerprint: 'synthetic', path: 'synthetic' },
      factors: { path: factors.dir, fingerprint: factorsFingerprint(factors.dir), strategy: 'ekfac' },
      ...layout, documents: D, chunks: writer.chunks, documentsFile: docs.file, documentsSha256: docs.sha256, shard: null,
    };
    writeManifest(dir, manifest);
    const l0 = performance.now();
    const searcher = await IndexSearcher.openOnPool(dir, { modelFingerprint: model.fingerprint, factors }, pool);
    const loadSeconds = (performance.now() - l0) / 1000;
    const q = quantizeQuery(Float32Array.from({ length: searcher.queryDim }, () => rng.normal()), manifest);
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      await searcher.scan(q);
      times.push(performance.now() - t0);
    }
    await searcher.close();
    const out = { documents: D, entriesPerModule: kept * BLOCK, bytesPerDocument: bytesPerRow(manifest), loadSeconds, scanMs: { cold: times[0], warmP50: percentile(times.slice(1), 50), warmP95: percentile(times.slice(1), 95) } };
    log(`index 100k synthetic (${kept * BLOCK} entries per module): load ${loadSeconds.toFixed(2)} s, scan cold ${times[0].toFixed(0)} ms, warm p95 ${out.scanMs.warmP95.toFixed(0)} ms`);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
