/**
 * How well index sketches reproduce exact EK-FAC scores: per sketch, bytes per document, Spearman against
 * exact scores over all documents (min and mean over queries), and for how many queries the exact top 10
 * lie within the index's top N (what an exact rerank of N recovers), with build and scan times.
 * `npm run bench` runs it for the default sketch over the whole demo corpus; `npm run bench:sketches`
 * for every kind and size of the docs/INDEX.md table over a part of it (IL_EVERY, IL_QEVERY, IL_SKETCHES).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spearman } from '../server/src/engine/analysis/stats';
import { topK } from '../server/src/engine/util/topK';
import { parseQueries } from '../server/src/engine/queries/read';
import { bytesPerRow, DEFAULT_SKETCH } from '../server/src/engine/gradindex/sketch';
import { runIndexBuild } from '../server/src/engine/runs/buildIndex';
import { openFactorSet, type FactorSet } from '../server/src/engine/runs/factors';
import { runFit } from '../server/src/engine/runs/fit';
import { ModelRun } from '../server/src/engine/runs/modelRun';
import { prepareQueries } from '../server/src/engine/runs/queries';
import { DEFAULT_MAX_NEW_TOKENS } from '../server/src/engine/runs/defaults';
import { scoreCorpus, type ScoreOutput } from '../server/src/engine/score/score';
import type { PreparedQuery } from '../server/src/engine/score/queries';
import { scoreWithIndex } from '../server/src/engine/runs/scoreWithIndex';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../demo/src/corpus/generate';
import { startedAs } from './entry';

export interface SketchFigure {
  sketch: string;
  bytesPerDocument: number;
  spearmanMin: number;
  spearmanMean: number;
  /** Queries whose exact top 10 lie within the index's top `rerank`. */
  topTenWithinRerank: number;
  /** Mean share of a query's exact top 10 within the index's top `rerank`. */
  topTenRecall: number;
  queries: number;
  rerank: number;
  buildSeconds: number;
  scoreSeconds: number;
}

/** Per query, how many of the exact top 10 lie within the index's top n. */
function topTenFound(got: Float32Array, exact: Float32Array, Q: number, n: number): number[] {
  const D = exact.length / Q;
  return Array.from({ length: Q }, (_, q) => {
    const mine = new Set(topK(got.subarray(q * D, (q + 1) * D), n));
    return topK(exact.subarray(q * D, (q + 1) * D), 10).filter((d) => mine.has(d)).length;
  });
}

/** The demo queries (every `every`-th), prepared once with the model's greedy completions. */
export async function benchQueries(run: ModelRun, factors: FactorSet, file: string, every = 1): Promise<PreparedQuery[]> {
  const records = parseQueries(readFileSync(file, 'utf8'), file).filter((_, i) => i % every === 0);
  return (await prepareQueries(run, records, { maxLen: factors.maxLen, maxNewTokens: DEFAULT_MAX_NEW_TOKENS })).queries;
}

/** Exact EK-FAC scores of every document of `corpus` for the queries. */
export async function exactScores(run: ModelRun, factors: FactorSet, corpus: string, queries: PreparedQuery[], log: (s: string) => void): Promise<ScoreOutput> {
  const t0 = Date.now();
  const exact = await scoreCorpus({ ...scoring(run, factors, corpus, queries), selfInfluence: false });
  log(`exact scores: ${queries.length} queries × ${exact.documents.length} documents in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  return exact;
}

const scoring = (run: ModelRun, factors: FactorSet, corpus: string, queries: PreparedQuery[]) => ({
  pool: run.pool,
  tokenizer: run.tokenizer,
  bos: run.bos,
  corpus: { path: corpus },
  factors: factors.factors,
  queries,
  maxLen: factors.maxLen,
});

/** Spearman per query (min, mean) of two [Q × D] score matrices, and the per-query count of b's top 10 within a's top n. */
export function agreement(a: Float32Array, b: Float32Array, Q: number, n: number): { spearmanMin: number; spearmanMean: number; topTenFound: number[] } {
  const D = b.length / Q;
  const rhos = Array.from({ length: Q }, (_, q) => spearman(a.subarray(q * D, (q + 1) * D), b.subarray(q * D, (q + 1) * D)));
  return { spearmanMin: Math.min(...rhos), spearmanMean: rhos.reduce((x, y) => x + y) / Q, topTenFound: topTenFound(a, b, Q, n) };
}

/** Builds each sketch's index over `corpus` and compares its scores with the exact ones for the same queries. */
export async function sketchAccuracy(
  run: ModelRun,
  factors: FactorSet,
  corpus: string,
  queries: PreparedQuery[],
  exact: ScoreOutput,
  sketches: string[],
  o: { rerank: number; log: (s: string) => void },
): Promise<SketchFigure[]> {
  const common = scoring(run, factors, corpus, queries);
  const modelFingerprint = (await run.modelId()).fingerprint;
  const Q = queries.length;
  const out: SketchFigure[] = [];
  for (const sketch of sketches) {
    const dir = mkdtempSync(join(tmpdir(), 'il-bench-sketch-'));
    try {
      const b0 = Date.now();
      const manifest = await runIndexBuild(run, factors, { corpus: { path: corpus }, out: dir, sketch });
      const s0 = Date.now();
      // The sketch's own estimates (no candidates rescored from the tier): what this figure is about.
      const candidates = { top: 0, bottom: 0, lexical: 0 };
      const scored = await scoreWithIndex({
        ...common,
        indexDir: dir,
        modelFingerprint,
        corpusFingerprint: manifest.corpus.fingerprint,
        rerank: 0,
        candidates,
      });
      const { spearmanMin, spearmanMean, topTenFound: found } = agreement(scored.scores, exact.scores, Q, o.rerank);
      const figure: SketchFigure = {
        sketch,
        bytesPerDocument: bytesPerRow(manifest.rows),
        spearmanMin,
        spearmanMean,
        topTenWithinRerank: found.filter((n) => n === 10).length,
        topTenRecall: found.reduce((a, b) => a + b, 0) / (10 * Q),
        queries: Q,
        rerank: o.rerank,
        buildSeconds: (s0 - b0) / 1000,
        scoreSeconds: (Date.now() - s0) / 1000,
      };
      o.log(
        `| ${sketch} | ${figure.bytesPerDocument.toLocaleString('en-US')} | ${figure.spearmanMin.toFixed(3)} | ${figure.spearmanMean.toFixed(3)} | ${figure.topTenWithinRerank}/${Q} | ${(100 * figure.topTenRecall).toFixed(0)}% |`,
      );
      out.push(figure);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return out;
}

/** The demo corpus (every `every`-th document) in a temp folder, fitted (EK-FAC, max length 256). */
export async function fittedDemo(run: ModelRun, dir: string, every: number, log: (s: string) => void) {
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).filter((_, i) => i % every === 0)));
  const t0 = Date.now();
  const { stages } = await runFit(run, { corpus: { path: corpus }, out: join(dir, 'factors'), maxLen: 256 });
  const fitSeconds = (Date.now() - t0) / 1000;
  log(
    `demo fit (every ${every === 1 ? '' : `${every}th `}document): ${fitSeconds.toFixed(0)} s (${Object.entries(stages)
      .map(([k, v]) => `${k} ${v.seconds.toFixed(0)} s`)
      .join(', ')})`,
  );
  return { corpus, factors: await openFactorSet(run, join(dir, 'factors')), fitSeconds, stages };
}

/** Every kind at the sizes of the docs/INDEX.md table. */
const TABLE = [
  'eigen:16x16',
  'eigen:16x32',
  'eigen:32x64',
  'eigen:64x128',
  'kron:16x16',
  'kron:24x24',
  'kron:48x48',
  'count:2048',
  'count:8192',
  'count:32768',
  'blocks:2%',
  'blocks:10%',
  'blocks:50%',
];

async function main() {
  const log = (s: string) => process.stderr.write(`bench:sketches: ${s}\n`);
  const root = resolve(__dirname, '..');
  const every = Number(process.env.IL_EVERY ?? 4);
  const queryEvery = Number(process.env.IL_QEVERY ?? 5);
  const sketches = process.env.IL_SKETCHES ? process.env.IL_SKETCHES.split(',') : TABLE;
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-sketches-'));
  const run = await ModelRun.open({ model: join(root, 'demo', 'model'), backend: 'wasm', workers: 2 });
  try {
    const { corpus, factors } = await fittedDemo(run, dir, every, log);
    const documents = Math.ceil(DEFAULT_SIZE / every);
    // The rerank that rescores the same share of documents as 50 of the full demo corpus's 4,000.
    const rerank = Math.max(10, Math.round((50 * documents) / DEFAULT_SIZE));
    log(`| sketch | bytes / document | Spearman min | Spearman mean | exact top 10 within the top ${rerank} | share of the exact top 10 there |`);
    const queries = await benchQueries(run, factors, join(root, 'demo', 'queries.jsonl'), queryEvery);
    const exact = await exactScores(run, factors, corpus, queries, log);
    const figures = await sketchAccuracy(run, factors, corpus, queries, exact, sketches, { rerank, log });
    process.stdout.write(JSON.stringify({ documents, every, queryEvery, default: DEFAULT_SKETCH, figures }, null, 2) + '\n');
  } finally {
    await run.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (startedAs('sketchAccuracy')) {
  main().catch((e) => {
    process.stderr.write(`bench:sketches failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}
