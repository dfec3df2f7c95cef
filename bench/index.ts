/**
 * Gradient-index figures: build speed, size, load time, query latency (cold and warm) on stories260K +
 * TinyStories and on the demo model + demo corpus (with the default sketch's accuracy there, and what
 * writing the index in the fit's Λ pass adds to the fit), and a synthetic index of a million documents at
 * the default size for load and scan speed.
 */
import { randomFillSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ComputePool } from '../server/src/engine/compute/computePool';
import type { LoadedFactors } from '../server/src/engine/ekfac/load';
import { invalidateFrom, readManifest as readFactorManifest } from '../server/src/engine/ekfac/store';
import { factorStages } from '../server/src/engine/gradindex/build';
import { quantizeQuery } from '../server/src/engine/gradindex/scan';
import { IndexSearcher } from '../server/src/engine/gradindex/search';
import { bytesPerRow, DEFAULT_SKETCH, parseSketch, rowLayout, sketchModules } from '../server/src/engine/gradindex/sketch';
import { ChunkWriter, writeDocuments, writeManifest } from '../server/src/engine/gradindex/store';
import { INDEX_VERSION, type IndexManifest } from '../server/src/engine/gradindex/types';
import { runIndexBuild } from '../server/src/engine/runs/buildIndex';
import { openFactorSet, type FactorSet } from '../server/src/engine/runs/factors';
import { runFit } from '../server/src/engine/runs/fit';
import { openIndexQueries } from '../server/src/engine/runs/indexQueries';
import { ModelRun } from '../server/src/engine/runs/modelRun';
import { Rng } from '../server/src/engine/util/random';
import { DEFAULT_SIZE } from '../demo/src/corpus/generate';
import { agreement, benchQueries, exactScores, fittedDemo, sketchAccuracy } from './sketchAccuracy';
import type { ScoreOutput } from '../server/src/engine/score/score';
import type { PreparedQuery } from '../server/src/engine/score/queries';
import { startedAs } from './entry';
import { lexicalQueries, syntheticLexical, timeLexical } from './lexical';
import { candidateRows, DEFAULT_CANDIDATES } from '../server/src/engine/runs/candidates';

/** Wall and CPU seconds (every thread of the process) of `fn`. */
async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; seconds: number; cpuSeconds: number }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  return { value, seconds: (performance.now() - t0) / 1000, cpuSeconds: cpuSince(c0) / 1000 };
}

/** User + system CPU milliseconds of the whole process (all threads) since `from`. */
function cpuSince(from: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(from);
  return (d.user + d.system) / 1000;
}

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
      sketch: DEFAULT_SKETCH,
      documents: manifest.documents,
      bytesPerDocument: bytesPerRow(manifest.rows),
      inMemory,
      buildTokensPerSecond: tokens / buildSeconds,
      loadSeconds,
      loadAfterBuildSeconds: afterBuild.seconds,
      queryMs: { cold, warmP50: percentile(warm, 50), warmP95: percentile(warm, 95) },
      // The query's own forward/backward pass + rotation, and the scan, warm.
      encodeMsP50: percentile(encode.slice(1), 50),
      scanMsP50: percentile(scan.slice(1), 50),
    };
    log(
      `index ${label}: build ${Math.round(out.buildTokensPerSecond)} tok/s, ${out.bytesPerDocument} B/doc, load ${loadSeconds.toFixed(2)} s (then in the threads that built it: ${afterBuild.seconds.toFixed(2)} s), query cold ${cold.toFixed(0)} ms, warm p50 ${out.queryMs.warmP50.toFixed(0)} / p95 ${out.queryMs.warmP95.toFixed(0)} ms (encode p50 ${out.encodeMsP50.toFixed(0)}, scan p50 ${out.scanMsP50.toFixed(0)}; ${manifest.documents} docs)`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** stories260K over TinyStories (factors from the EK-FAC benchmark). */
export async function benchIndex(input: IndexBenchInput, log: (s: string) => void) {
  const prompts = ['Once upon a time, there was a girl named', 'The dog ran to the', 'Tom and Sue found a', 'The sky was', 'Mom gave the boy a'];
  return {
    stories: await measure(
      input,
      prompts.map((prompt) => ({ prompt, completion: ' big red ball.' })),
      'stories260K',
      log,
    ),
  };
}

/**
 * The demo model over the full demo corpus (4,000 documents): the fit, its Λ pass again with the index
 * written in it, the default index's accuracy against exact scores (every demo query, exact top 10 within
 * the top 50: what --rerank 50 recovers) and its queries; then the synthetic index at the default size.
 */
export async function benchDemoIndex(workers: number, log: (s: string) => void) {
  const root = resolve(__dirname, '..');
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-demo-'));
  const run = await ModelRun.open({ model: join(root, 'demo', 'model'), backend: 'wasm', workers });
  try {
    const every = Number(process.env.IL_DEMO_EVERY ?? 1);
    const fitted = await timed(() => fittedDemo(run, dir, every, log));
    const { corpus, factors } = fitted.value;
    // The Λ pass again, without and then with the index (covariance and eigen stages reused). CPU time of
    // every thread is the measure: on a shared machine the wall clock also counts other processes' turns.
    const lambdaPass = async (index?: { out: string }) => {
      invalidateFrom(factors.dir, readFactorManifest(factors.dir)!, 'lambda');
      return timed(() => runFit(run, { corpus: { path: corpus }, out: factors.dir, maxLen: 256, index }));
    };
    const plain = await lambdaPass();
    const fused = await lambdaPass({ out: join(dir, 'index') });
    const manifest = fused.value.index!.manifest;
    const indexInFit = {
      fitSeconds: fitted.seconds,
      fitCpuSeconds: fitted.cpuSeconds,
      lambdaSeconds: plain.seconds,
      lambdaCpuSeconds: plain.cpuSeconds,
      lambdaWithIndexSeconds: fused.seconds,
      lambdaWithIndexCpuSeconds: fused.cpuSeconds,
      addedToFit: (fused.cpuSeconds - plain.cpuSeconds) / fitted.cpuSeconds,
      indexBytes: manifest.documents * bytesPerRow(manifest.rows),
    };
    log(
      `demo fit ${fitted.seconds.toFixed(0)} s (CPU ${fitted.cpuSeconds.toFixed(0)} s); its Λ pass ${plain.seconds.toFixed(0)} s (CPU ${plain.cpuSeconds.toFixed(0)} s), ` +
        `writing the index ${fused.seconds.toFixed(0)} s (CPU ${fused.cpuSeconds.toFixed(0)} s): +${(100 * indexInFit.addedToFit).toFixed(0)}% of the fit's CPU time; index ${(indexInFit.indexBytes / 2 ** 20).toFixed(1)} MiB`,
    );
    const rerank = Math.max(10, Math.round(50 / every));
    const prepared = await benchQueries(run, factors, join(root, 'demo', 'queries.jsonl'));
    const exact = await exactScores(run, factors, corpus, prepared, log);
    const [accuracy] = await sketchAccuracy(run, factors, corpus, prepared, exact, [DEFAULT_SKETCH], { rerank, log });
    const sample = await sampleFit(run, corpus, join(dir, 'sample'), prepared, exact, rerank, log);
    const queries = readFileSync(join(root, 'demo', 'queries.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { prompt: string; answer: string });
    const speed = await measure(
      { run, factors, corpus: { path: corpus } },
      queries.map((r) => ({ prompt: r.prompt, completion: ` ${r.answer}` })),
      'demo',
      log,
    );
    const synthetic = await syntheticIndex(run.pool, factors.factors, await run.modelId(), Number(process.env.IL_SYNTHETIC_DOCUMENTS ?? 1_000_000), log);
    return { corpusDocuments: Math.ceil(DEFAULT_SIZE / every), indexInFit, accuracy, sample, ...speed, synthetic };
  } finally {
    await run.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The fit on a sample, as the paper fits its factors: covariances and Λ over the first quarter of the
 * corpus, the index over all of it in the same Λ pass; its time, and how its exact scores rank the
 * documents against the factors fitted on everything.
 */
async function sampleFit(run: ModelRun, corpus: string, dir: string, queries: PreparedQuery[], exact: ScoreOutput, rerank: number, log: (s: string) => void) {
  const documents = exact.documents.length;
  const maxDocs = Math.ceil(documents / 4);
  const {
    value: fit,
    seconds,
    cpuSeconds,
  } = await timed(() => runFit(run, { corpus: { path: corpus }, out: dir, maxLen: 256, maxDocs, index: { out: join(dir, 'index') } }));
  const sampled = await exactScores(run, await openFactorSet(run, dir), corpus, queries, log);
  const a = agreement(sampled.scores, exact.scores, queries.length, 10);
  const out = {
    maxDocs,
    seconds,
    cpuSeconds,
    stages: Object.fromEntries(Object.entries(fit.stages).map(([k, v]) => [k, v.seconds])),
    spearmanMin: a.spearmanMin,
    spearmanMean: a.spearmanMean,
    /** Mean share of the exact top 10 (factors on every document) in the sample factors' top 10. */
    topTenOverlap: a.topTenFound.reduce((x, y) => x + y, 0) / (10 * queries.length),
  };
  log(
    `fit on the first ${maxDocs} documents with the index: ${seconds.toFixed(0)} s (CPU ${cpuSeconds.toFixed(0)} s); its exact scores against those of factors on all ${documents}: Spearman min ${out.spearmanMin.toFixed(3)} mean ${out.spearmanMean.toFixed(3)}, top-10 overlap ${(100 * out.topTenOverlap).toFixed(0)}% (rerank ${rerank})`,
  );
  return out;
}

/**
 * An index of `D` random rows at the default sketch for the given factors' modules (the demo model: 12
 * modules): load time in fresh compute threads and scan time per query (the scan alone).
 */
export async function syntheticIndex(
  pool: ComputePool,
  factors: LoadedFactors,
  model: { fingerprint: string; path: string },
  D: number,
  log: (s: string) => void,
) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-synthetic-'));
  try {
    const sketch = parseSketch(DEFAULT_SKETCH);
    const modules = sketchModules(
      sketch,
      factors.modules.map((f) => ({ name: f.name, outDim: f.outDim, inDim: f.inDim })),
    );
    const rows = rowLayout(sketch, modules);
    mkdirSync(dir, { recursive: true });
    const writer = new ChunkWriter(dir, rows);
    const rng = new Rng(7);
    // Random int8 values (a block of them reused at shifting offsets: the scan's speed does not depend on them).
    const pool8 = new Int8Array(rows.values * 64);
    randomFillSync(pool8);
    for (let d = 0; d < D; d++) {
      const at = Math.floor(rng.next() * 63) * rows.values;
      writer.push({
        scales: Float32Array.from({ length: rows.scales }, () => 0.5 + rng.next()),
        positions: new Uint16Array(0),
        values: pool8.subarray(at, at + rows.values),
      });
    }
    writer.flush();
    const docs = writeDocuments(
      dir,
      Array.from({ length: D }, (_, i) => ({ index: i, id: `s${i}`, source: 'synthetic', tokens: 100, file: 'synthetic' })),
    );
    const manifest: IndexManifest = {
      version: INDEX_VERSION,
      tool: 'bench',
      model,
      corpus: { fingerprint: 'synthetic', path: 'synthetic' },
      factors: { path: factors.dir, ...factorStages(factors.manifest, sketch) },
      sketch: { ...sketch, seed: 0, maxLen: 256 },
      modules,
      rows,
      documents: D,
      chunks: writer.chunks,
      documentsFile: docs.file,
      documentsSha256: docs.sha256,
      shard: null,
      rescore: null,
      lexical: null,
    };
    writeManifest(dir, manifest);
    // CPU time (every thread of the process) beside wall time: on a shared machine the wall clock also
    // counts other processes' turns; CPU time / threads is what an idle machine would take.
    const l0 = performance.now();
    const c0 = process.cpuUsage();
    const searcher = await IndexSearcher.openOnPool(dir, { modelFingerprint: model.fingerprint, factors }, pool);
    const loadSeconds = (performance.now() - l0) / 1000;
    const loadCpuSeconds = cpuSince(c0) / 1000;
    const q = quantizeQuery(
      Float32Array.from({ length: searcher.queryDim }, () => rng.normal()),
      manifest,
    );
    const times: number[] = [];
    const cpu: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      const c = process.cpuUsage();
      await searcher.scan(q);
      times.push(performance.now() - t0);
      cpu.push(cpuSince(c));
    }
    // A hover's candidates at this size: the sketch's scan, then BM25's best 800 of the prompt and answer
    // and the union (runs/candidates.ts), one query after another.
    const lex = await syntheticLexical(dir, D);
    const bm25 = timeLexical(lex.lexical);
    const candidateMs: number[] = [];
    for (const text of lexicalQueries()) {
      const t0 = performance.now();
      candidateRows(await searcher.scan(q), lex.lexical, text, DEFAULT_CANDIDATES);
      candidateMs.push(performance.now() - t0);
    }
    lex.lexical.close();
    const inMemory = searcher.inMemory;
    await searcher.close();
    // The same index over the memory budget: every thread reads its chunks from disk at every query (here
    // mostly from the page cache, the file having just been written: a lower bound on a cold disk's time).
    const streaming = await IndexSearcher.openOnPool(dir, { modelFingerprint: model.fingerprint, factors, memoryBudgetBytes: 0 }, pool);
    const streamedMs: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      await streaming.scan(q);
      streamedMs.push(performance.now() - t0);
    }
    await streaming.close();
    const out = {
      documents: D,
      sketch: DEFAULT_SKETCH,
      bytesPerDocument: bytesPerRow(rows),
      threads: pool.size,
      inMemory,
      loadSeconds,
      loadCpuSeconds,
      scanMs: { cold: times[0], warmP50: percentile(times.slice(1), 50), warmP95: percentile(times.slice(1), 95) },
      scanCpuMsP50: percentile(cpu.slice(1), 50),
      streamedScanMs: { cold: streamedMs[0], warmP50: percentile(streamedMs.slice(1), 50) },
      lexical: {
        buildSeconds: lex.buildSeconds,
        bytesPerDocument: lex.bytes / D,
        searchMs: { p50: percentile(bm25.wallMs, 50), p95: percentile(bm25.wallMs, 95) },
        searchCpuMs: { p50: percentile(bm25.cpuMs, 50), p95: percentile(bm25.cpuMs, 95) },
      },
      candidatesMs: { p50: percentile(candidateMs, 50), p95: percentile(candidateMs, 95) },
    };
    log(
      `index ${D} synthetic documents (${DEFAULT_SKETCH}, ${out.bytesPerDocument} B each, ${pool.size} threads): load ${loadSeconds.toFixed(2)} s (CPU ${loadCpuSeconds.toFixed(2)} s), ` +
        `scan cold ${times[0].toFixed(0)} ms, warm p50 ${out.scanMs.warmP50.toFixed(0)} / p95 ${out.scanMs.warmP95.toFixed(0)} ms (CPU p50 ${out.scanCpuMsP50.toFixed(0)} ms); ` +
        `streamed from disk (over the memory budget): first ${streamedMs[0].toFixed(0)} ms, then p50 ${out.streamedScanMs.warmP50.toFixed(0)} ms; ` +
        `BM25 (lexical.bin, ${out.lexical.bytesPerDocument.toFixed(0)} B/doc, built in ${lex.buildSeconds.toFixed(0)} s): search p50 ${out.lexical.searchMs.p50.toFixed(0)} / p95 ${out.lexical.searchMs.p95.toFixed(0)} ms; ` +
        `a hover's candidates (scan + BM25 + union) p50 ${out.candidatesMs.p50.toFixed(0)} / p95 ${out.candidatesMs.p95.toFixed(0)} ms`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `node --import tsx bench/index.ts demo`: the demo part of npm run bench alone (IL_DEMO_EVERY: every n-th document). */
async function demoOnly() {
  const out = await benchDemoIndex(2, (s) => process.stderr.write(`bench:demo: ${s}\n`));
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

/** `npm run bench:scan`: the synthetic index alone (IL_SYNTHETIC_DOCUMENTS, default 1,000,000), for the demo model's modules. */
async function scanOnly() {
  const log = (s: string) => process.stderr.write(`bench:scan: ${s}\n`);
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-scan-'));
  const run = await ModelRun.open({ model: join(resolve(__dirname, '..'), 'demo', 'model'), backend: 'wasm', workers: 2 });
  try {
    // Factors fitted on a few documents: the synthetic rows need only the modules' shapes and a factor identity.
    const { factors } = await fittedDemo(run, dir, 500, log);
    const out = await syntheticIndex(run.pool, factors.factors, await run.modelId(), Number(process.env.IL_SYNTHETIC_DOCUMENTS ?? 1_000_000), log);
    process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  } finally {
    await run.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (startedAs('index')) {
  const which = process.argv[2] === 'demo' ? demoOnly() : scanOnly();
  which.catch((e) => {
    process.stderr.write(`bench:scan failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}
