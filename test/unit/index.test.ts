/**
 * The gradient index on stories260K + TinyStories: index scores against exact EK-FAC scores per
 * dimension, rerank recovering the exact top 10, sharded builds merged equal to one build, corrupted files
 * refused, and the in-process query engine holding memory flat.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/backend/backend';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { DEFAULT_INDEX_DIM } from '../../server/src/engine/index/build';
import { mergeIndexes } from '../../server/src/engine/index/merge';
import { IndexSearcher } from '../../server/src/engine/index/search';
import { quantizeQuery } from '../../server/src/engine/index/scan';
import { bosId, openModel, stopIds, type OpenedModel } from '../../server/src/engine/model/openModel';
import { fit, identityFor, score, withPool, writeJsonlCorpus, STORY_QUERIES, tempDirs, type Setup } from '../helpers/influence';
import { accuracy, buildTestIndex, indexScores, topTenHits } from '../helpers/gradientIndex';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import type { Shard } from '../../server/src/engine/corpus/sequences';

/** Candidates rescored exactly per query (top and bottom). */
const RERANK = 20;

const QUERIES = STORY_QUERIES;

let model: OpenedModel;
let corpus: string;
let factorsDir: string;
let exact: Awaited<ReturnType<typeof score>>;
const { tmp, cleanup } = tempDirs('il-index-');
const setup = (): Setup => ({ model, corpus, settings: { maxLen: 96 }, workers: 2 });
const build = (out: string, dim: string, shard?: Shard, chunkBytes?: number) => buildTestIndex(setup(), factorsDir, out, dim, shard, chunkBytes);

before(async () => {
  if (SKIP_NO_SHARED) return;
  await initBackend('wasm');
  model = await openModel(STORIES260K(), TOK512());
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 90);
  corpus = writeJsonlCorpus(lines.map((l) => JSON.parse(l) as { text: string; source: string }));
  factorsDir = tmp();
  await fit(setup(), 'ekfac', factorsDir);
  exact = await score(setup(), factorsDir, QUERIES);
});

test.after(cleanup);

test('index scores track exact EK-FAC scores (Spearman ≥ 0.9 per query at the default dim); every entry kept is exact', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async () => {
  for (const dim of (process.env.IL_DIMS ?? `10%,25%,${DEFAULT_INDEX_DIM},100%`).split(',')) {
    const dir = tmp();
    const manifest = await build(dir, dim);
    const out = await indexScores(setup(), factorsDir, dir, QUERIES);
    const a = accuracy(dim, manifest, out.scores, exact.scores, QUERIES.length);
    console.log(`# ${a.line}`);
    if (dim === DEFAULT_INDEX_DIM) a.rhos.forEach((r, q) => assert.ok(r >= 0.9, `dim ${dim}, query ${q}: Spearman ${r}`));
    if (dim === '100%') {
      // Every entry kept: only int8 storage separates it from exact.
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < out.scores.length; i++) {
        worst = Math.max(worst, Math.abs(out.scores[i] - exact.scores[i]));
        scale = Math.max(scale, Math.abs(exact.scores[i]));
      }
      assert.ok(worst / scale < 1e-2, `full index vs exact: relative ${worst / scale}`);
      a.rhos.forEach((r, q) => assert.ok(r > 0.995, `100%, query ${q}: Spearman ${r}`));
    }
  }
});

test('with --rerank 20, the top 10 equal the exact top 10 for ≥ 90% of queries', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async () => {
  const dir = tmp();
  await build(dir, DEFAULT_INDEX_DIM);
  const out = await indexScores(setup(), factorsDir, dir, QUERIES, RERANK);
  const hits = topTenHits(out.scores, exact.scores, QUERIES.length);
  const D = exact.documents.length;
  QUERIES.forEach((_, q) => {
    const row = out.scores.subarray(q * D, (q + 1) * D);
    for (const d of Array.from(row.keys()).sort((a, b) => row[b] - row[a]).slice(0, 10)) assert.equal(out.documents[d].exact, true, 'reranked documents are marked exact');
  });
  console.log(`# rerank ${RERANK} at dim ${DEFAULT_INDEX_DIM}: exact top-10 recovered for ${hits}/${QUERIES.length} queries`);
  assert.ok(hits >= 0.9 * QUERIES.length, `${hits}/${QUERIES.length}`);
});

test('a sharded build (n = 3) merged equals a single build; corrupt or truncated files are refused', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async () => {
  const whole = tmp();
  // Small chunks (about 7 documents each), so that merging and the threads' split cross chunk boundaries.
  await build(whole, '64', undefined, 9_000);
  const parts = [];
  for (let i = 0; i < 3; i++) {
    const d = tmp();
    await build(d, '64', { index: i, count: 3 }, 9_000);
    parts.push(d);
  }
  const merged = tmp();
  mergeIndexes(parts, merged);
  const identity = await identityFor(setup(), 'ekfac');
  const factors = await loadFactors(factorsDir, { model: identity.model });
  const a = IndexSearcher.open(whole, { modelFingerprint: identity.model.fingerprint, factors });
  const b = IndexSearcher.open(merged, { modelFingerprint: identity.model.fingerprint, factors });
  assert.deepEqual(b.documents, a.documents);
  const q = quantizeQuery(new Float32Array(a.queryDim).map((_, i) => Math.sin(i)), a.manifest);
  assert.deepEqual(b.scores(q), a.scores(q));
  assert.ok(a.manifest.chunks.length > 4, `${a.manifest.chunks.length} chunks`);
  // Over the memory budget, each query streams the chunks from disk: the same scores.
  const streamed = IndexSearcher.open(merged, { modelFingerprint: identity.model.fingerprint, factors, memoryBudgetBytes: 0 });
  assert.equal(streamed.inMemory, false);
  assert.deepEqual(streamed.scores(q), a.scores(q));
  // Split over two compute threads, the scan gives the same scores.
  await withPool(setup(), async (pool) => {
    const split = await IndexSearcher.openOnPool(merged, { modelFingerprint: identity.model.fingerprint, factors }, pool);
    assert.deepEqual(await split.scan(q), a.scores(q));
    await split.close();
    await assert.rejects(split.scan(q), /no index is open/);
  });

  const chunk = join(merged, b.manifest.chunks[0].file);
  const bytes = readFileSync(chunk);
  bytes[bytes.length - 3] ^= 0xff;
  writeFileSync(chunk, bytes);
  assert.throws(() => IndexSearcher.open(merged, { modelFingerprint: identity.model.fingerprint, factors }), /does not match its checksum/);
  truncateSync(chunk, 100);
  assert.throws(() => IndexSearcher.open(merged, { modelFingerprint: identity.model.fingerprint, factors }), /truncated/);
  assert.throws(() => IndexSearcher.open(whole, { modelFingerprint: 'x'.repeat(64), factors }), /another model/);
  rmSync(join(whole, 'manifest.json'));
  assert.throws(() => IndexSearcher.open(whole, { modelFingerprint: identity.model.fingerprint, factors }), /no index/);
});

test('the in-process query engine answers 1,000 queries with flat tensor count and heap', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async () => {
  const dir = tmp();
  await build(dir, '64');
  const identity = await identityFor(setup(), 'ekfac');
  const factors = await loadFactors(factorsDir, { model: identity.model });
  const { IndexQueryEngine } = await import('../../server/src/engine/index/queryEngine');
  // In-process compute (workers: 0), so tf.memory() here is the engine's own.
  await withPool({ ...setup(), workers: 0 }, async (pool) => {
    const searcher = await IndexSearcher.openOnPool(dir, { modelFingerprint: identity.model.fingerprint, factors }, pool);
    const engine = await IndexQueryEngine.create({ pool, tokenizer: model.tokenizer, bos: bosId(model), stopIds: stopIds(model), factors, searcher, maxLen: 96 });
    const { tf } = await import('../../server/src/engine/tf');
    const ask = (i: number) => engine.query({ prompt: `Once upon a time ${i % 7 === 0 ? 'a cat' : 'a dog'}`, completion: ' ran.' }, { top: 5 });
    const first = await ask(0);
    assert.equal(first.top.length, 5);
    assert.ok(first.top[0].score >= first.top[4].score && first.bottom[0].score <= first.bottom[4].score);
    for (let i = 1; i < 50; i++) await ask(i);
    const tensors = tf.memory().numTensors;
    global.gc?.();
    const heap = process.memoryUsage().heapUsed;
    for (let i = 50; i < 1000; i++) await ask(i);
    global.gc?.();
    assert.equal(tf.memory().numTensors, tensors, 'tensor count after 1,000 queries');
    const growth = process.memoryUsage().heapUsed - heap;
    console.log(`# 1,000 queries: tensors ${tensors} → ${tf.memory().numTensors}, heap growth ${(growth / 2 ** 20).toFixed(1)} MiB`);
    assert.ok(growth < 20 * 2 ** 20, `heap grew by ${growth} bytes`);
    const abort = new AbortController();
    abort.abort();
    await assert.rejects(engine.query({ prompt: 'x', completion: ' y' }, { signal: abort.signal }), (e: Error) => e.name === 'AbortError');
  });
});
