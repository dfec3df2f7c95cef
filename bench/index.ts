/** Gradient-index figures: build speed, size, load time, query latency (cold and warm), and a synthetic 100k-document index. */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ComputePool } from '../server/src/engine/backend/pool';
import type { LoadedFactors } from '../server/src/engine/ekfac/load';
import { buildIndex, DEFAULT_INDEX_DIM, factorsFingerprint } from '../server/src/engine/index/build';
import { IndexQueryEngine } from '../server/src/engine/index/queryEngine';
import { IndexSearcher } from '../server/src/engine/index/search';
import { writeChunk, writeDocuments, MANIFEST } from '../server/src/engine/index/store';
import type { IndexManifest } from '../server/src/engine/index/types';
import { bosId, stopIds, type OpenedModel } from '../server/src/engine/model/openModel';
import { Rng } from '../server/src/engine/util/random';
import { writeTextAtomically } from '../server/src/engine/util/atomic';

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

export async function benchIndex(
  m: OpenedModel,
  pool: ComputePool,
  factors: LoadedFactors,
  model: { fingerprint: string; path: string },
  corpus: { path: string; fingerprint: string },
  maxLen: number,
  log: (s: string) => void,
) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-index-'));
  try {
    const t0 = Date.now();
    let tokens = 0;
    const manifest = await buildIndex({ pool, tokenizer: m.tokenizer, bos: bosId(m), corpus: { path: corpus.path }, factors, model, corpusFingerprint: corpus.fingerprint, out: dir, dim: DEFAULT_INDEX_DIM, maxLen, onProgress: (p) => (tokens = p.tokens) });
    const buildSeconds = (Date.now() - t0) / 1000;
    const bytesPerDocument = manifest.modules.length * 4 + manifest.rowDim * 2;
    const l0 = performance.now();
    const searcher = IndexSearcher.open(dir, { modelFingerprint: model.fingerprint, factors });
    const loadSeconds = (performance.now() - l0) / 1000;
    const engine = new IndexQueryEngine({ pool, tokenizer: m.tokenizer, bos: bosId(m), stopIds: stopIds(m), factors, searcher, maxLen });
    const prompts = ['Once upon a time, there was a girl named', 'The dog ran to the', 'Tom and Sue found a', 'The sky was', 'Mom gave the boy a'];
    const latencies: number[] = [];
    for (let i = 0; i < 40; i++) {
      const q0 = performance.now();
      await engine.query({ prompt: prompts[i % prompts.length], completion: ' big red ball.' });
      latencies.push(performance.now() - q0);
    }
    const cold = latencies[0];
    const warm = latencies.slice(1);
    const out = {
      dim: DEFAULT_INDEX_DIM,
      documents: manifest.documents,
      rowDim: manifest.rowDim,
      bytesPerDocument,
      buildTokensPerSecond: tokens / buildSeconds,
      loadSeconds,
      queryMs: { cold, warmP50: percentile(warm, 50), warmP95: percentile(warm, 95) },
    };
    log(`index: build ${Math.round(out.buildTokensPerSecond)} tok/s, ${bytesPerDocument} B/doc, load ${loadSeconds.toFixed(3)} s, query cold ${cold.toFixed(0)} ms, warm p50 ${out.queryMs.warmP50.toFixed(0)} / p95 ${out.queryMs.warmP95.toFixed(0)} ms (${manifest.documents} docs)`);
    return { demoLike: out, synthetic100k: await synthetic(factors, model, log) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A 100k-document index of random rows (dim 64 per module, as stories260K's 15 modules): load and scan speed. */
async function synthetic(factors: LoadedFactors, model: { fingerprint: string; path: string }, log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-100k-'));
  try {
    const D = 100_000;
    const dim = 64;
    const modules = factors.modules.map((f) => ({ name: f.name, outDim: f.eigen!.outDim, inDim: f.eigen!.inDim, positions: Array.from({ length: dim }, (_, i) => i) }));
    const widths = modules.map(() => dim);
    const rowDim = dim * modules.length;
    const rng = new Rng(7);
    const chunks = [];
    mkdirSync(dir, { recursive: true });
    for (let first = 0; first < D; first += 4096) {
      const count = Math.min(4096, D - first);
      const rows = Float32Array.from({ length: count * rowDim }, () => rng.normal());
      chunks.push(writeChunk(dir, first, rows, count, widths));
    }
    const docs = writeDocuments(dir, Array.from({ length: D }, (_, i) => ({ index: i, id: `s${i}`, source: 'synthetic', tokens: 100, file: 'synthetic' })));
    const manifest: IndexManifest = {
      version: 1, tool: 'bench', model, corpus: { fingerprint: 'synthetic', path: 'synthetic' },
      factors: { path: factors.dir, fingerprint: factorsFingerprint(factors.dir), strategy: 'ekfac' },
      settings: { dim, maxLen: 256, dtype: 'F16' }, modules, rowDim, documents: D, chunks, documentsFile: docs.file, documentsSha256: docs.sha256, shard: null,
    };
    writeTextAtomically(join(dir, MANIFEST), JSON.stringify(manifest));
    const l0 = performance.now();
    const searcher = IndexSearcher.open(dir, { modelFingerprint: model.fingerprint, factors });
    const loadSeconds = (performance.now() - l0) / 1000;
    const q = Float32Array.from({ length: rowDim }, () => rng.normal());
    const times: number[] = [];
    for (let i = 0; i < 12; i++) {
      const t0 = performance.now();
      searcher.scores(q);
      times.push(performance.now() - t0);
    }
    const out = { documents: D, dimPerModule: dim, rowDim, loadSeconds, scanMs: { cold: times[0], warmP50: percentile(times.slice(1), 50), warmP95: percentile(times.slice(1), 95) } };
    log(`index 100k synthetic (dim ${dim}): load ${loadSeconds.toFixed(2)} s, scan cold ${times[0].toFixed(0)} ms, warm p95 ${out.scanMs.warmP95.toFixed(0)} ms`);
    writeFileSync(join(dir, 'done'), '');
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
