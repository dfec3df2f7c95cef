/**
 * Fitting and scoring invariances on stories260K + TinyStories: shards (n = 3) merged equal one run,
 * 1 vs 2 workers and batch sizes do not change results, rank-32 queries keep the full-rank ranking,
 * and a cancelled fit leaves nothing that loads as valid.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../server/src/engine/device/backend';
import { mergeShards } from '../../server/src/engine/ekfac/fit';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { readStage, readManifest } from '../../server/src/engine/ekfac/store';
import { openModel, type OpenedModel } from '../../server/src/engine/model/openModel';
import { spearman } from '../../server/src/engine/analysis/stats';
import { fit, identityFor, score, withPool, writeJsonlCorpus, STORY_QUERIES, tempDirs, type Setup } from '../helpers/influence';
import { assertRelClose } from '../helpers/compare';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const QUERIES = STORY_QUERIES.slice(0, 4);

let model: OpenedModel;
let corpus: string;
/** ekfac fitted once with 2 workers, shared by the tests that only read it. */
let shared: string;
const { tmp, cleanup } = tempDirs('il-fit-');

before(async () => {
  if (SKIP_NO_SHARED) return;
  await initBackend('wasm');
  model = await openModel(STORIES260K(), TOK512());
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 60);
  corpus = writeJsonlCorpus(lines.map((l) => JSON.parse(l) as { text: string; source: string }));
  shared = tmp();
  await fit(setup(), 'ekfac', shared);
});

test.after(cleanup);

const setup = (over: Partial<Setup> = {}): Setup => ({ model, corpus, settings: { maxLen: 96 }, workers: 2, ...over });

async function tensorsOf(dir: string) {
  const m = readManifest(dir)!;
  return { cov: await readStage(dir, m, 'covariance'), lambda: await readStage(dir, m, 'lambda') };
}

test('sharded fit (n = 3) merged equals the unsharded fit, and so do their scores', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const whole = shared;
  const sharded = tmp();
  for (const stage of ['covariance', 'lambda'] as const) {
    for (let i = 0; i < 3; i++) {
      const r = await fit(setup(), 'ekfac', sharded, { shard: { index: i, count: 3 } });
      assert.equal(r.status, 'shard-written');
      assert.equal(r.status === 'shard-written' && r.stage, stage);
    }
    await assert.rejects(loadFactors(sharded, { model: (await identityFor(setup(), 'ekfac')).model }), /incomplete/);
    assert.deepEqual(await mergeShards(sharded), { stage, shards: 3 });
  }
  assert.equal((await fit(setup(), 'ekfac', sharded)).status, 'complete');
  const a = await tensorsOf(whole);
  const b = await tensorsOf(sharded);
  for (const [name, t] of a.cov) assertRelClose(b.cov.get(name)!.data, t.data, 1e-5, `covariance ${name}`);
  for (const [name, t] of a.lambda) assertRelClose(b.lambda.get(name)!.data, t.data, 1e-4, `lambda ${name}`);

  const full = await score(setup(), whole, QUERIES);
  const parts = [];
  for (let i = 0; i < 3; i++) parts.push(await score(setup(), sharded, QUERIES, { shard: { index: i, count: 3 } }));
  const D = full.documents.length;
  const joined = new Float32Array(full.scores.length);
  for (const p of parts) {
    p.documents.forEach((doc, j) => {
      for (let q = 0; q < QUERIES.length; q++) joined[q * D + doc.index] = p.scores[q * p.documents.length + j];
    });
  }
  assertRelClose(joined, full.scores, 1e-4, 'sharded scores');
});

test('1 vs 2 workers give identical factors and scores; batch size changes nothing beyond rounding', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const one = tmp();
  const two = shared;
  const batch = tmp();
  await fit(setup({ workers: 1 }), 'ekfac', one);
  await fit(setup({ workers: 2 }), 'ekfac', batch, { batchSize: 5 });
  const [a, b, c] = await Promise.all([tensorsOf(one), tensorsOf(two), tensorsOf(batch)]);
  for (const [name, t] of a.lambda) {
    assert.deepEqual(b.lambda.get(name)!.data, t.data, `lambda ${name}: 1 vs 2 workers`);
    assertRelClose(c.lambda.get(name)!.data, t.data, 1e-4, `lambda ${name}: batch size 5 vs 8`);
  }
  const s1 = await score(setup({ workers: 1 }), one, QUERIES);
  const s2 = await score(setup({ workers: 2 }), two, QUERIES);
  assert.deepEqual(s2.scores, s1.scores);
  const s3 = await score(setup({ workers: 2 }), one, QUERIES, { batchSize: 3 });
  assertRelClose(s3.scores, s1.scores, 1e-4, 'scores: batch size 3 vs 8');
});

test('rank-32 queries keep the full-rank ranking (Spearman ≥ 0.9 for every query)', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const full = await score(setup(), shared, QUERIES);
  const low = await score(setup(), shared, QUERIES, { rank: 32 });
  const D = full.documents.length;
  for (let q = 0; q < QUERIES.length; q++) {
    const rho = spearman(full.scores.subarray(q * D, (q + 1) * D), low.scores.subarray(q * D, (q + 1) * D));
    console.log(`# rank 32 vs full, query ${q}: Spearman ${rho.toFixed(4)}`);
    assert.ok(rho >= 0.9, `query ${q}: Spearman ${rho}`);
  }
});

test('low-rank queries score the same by contraction as written out dense', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const dense = await score(setup(), shared, QUERIES, { rank: 16, contraction: 'dense' });
  const contracted = await score(setup(), shared, QUERIES, { rank: 16, contraction: 'lowrank' });
  assert.ok(Object.values(contracted.contraction).every((c) => c === 'lowrank'));
  assert.ok(Object.values(dense.contraction).every((c) => c === 'dense'));
  assertRelClose(contracted.scores, dense.scores, 1e-4, 'rank-16 scores: contraction vs dense');
});

test('per-token influence adds up to the document score; self-influence is positive', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const out = await score(setup(), shared, QUERIES, { selfInfluence: true });
  assert.ok(out.self && out.self.length === out.documents.length && out.self.every((x) => x > 0));
  const { tokenInfluence } = await import('../../server/src/engine/score/tokenScoring');
  const { tokenizeDocument } = await import('../../server/src/engine/corpus/tokenize');
  const text = (JSON.parse(readFileSync(corpus, 'utf8').split('\n')[3]) as { text: string }).text;
  const doc = { tokens: tokenizeDocument(text, model.tokenizer, 1, 96) };
  const D = out.documents.length;
  await withPool(setup(), async (pool) => {
    for (let q = 0; q < 2; q++) {
      const perToken = await tokenInfluence(pool, out.factors, out.queries[q], doc);
      assert.equal(perToken.length, doc.tokens.length);
      const sum = perToken.reduce((a, b) => a + b, 0);
      assertRelClose([sum], [out.scores[q * D + 3]], 1e-4, `per-token sum, query ${q}`);
    }
  });
});

test('a cancelled fit leaves no factor set that loads as valid; rerunning completes it', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const dir = tmp();
  const abort = new AbortController();
  let batches = 0;
  const s = setup();
  const identity = await identityFor(s, 'ekfac');
  const { fitFactors } = await import('../../server/src/engine/ekfac/fit');
  await assert.rejects(
    withPool(s, (pool) =>
      fitFactors({
        pool,
        tokenizer: model.tokenizer,
        bos: 1,
        corpus: { path: corpus },
        identity,
        out: dir,
        signal: abort.signal,
        onProgress: (p) => {
          // Cancel in the middle of the eigenvalue-correction pass, after two stages completed.
          if (p.stage === 'lambda' && p.documents > 0 && ++batches === 2) abort.abort();
        },
      }),
    ),
    (e: Error) => e.name === 'AbortError',
  );
  const manifest = readManifest(dir)!;
  assert.ok(manifest.stages.covariance && manifest.stages.eigen, 'completed stages are kept');
  assert.equal(manifest.stages.lambda, undefined, 'the cancelled stage is not recorded');
  await assert.rejects(loadFactors(dir, { model: identity.model }), /incomplete/);
  const stages: string[] = [];
  await withPool(s, (pool) =>
    fitFactors({ pool, tokenizer: model.tokenizer, bos: 1, corpus: { path: corpus }, identity, out: dir, onStage: (st, what) => stages.push(`${st}:${what}`) }),
  );
  assert.deepEqual(stages, ['covariance:cached', 'eigen:cached', 'lambda:computed']);
  await loadFactors(dir, { model: identity.model });
});

test('factors for another model or other settings are refused, saying what differs', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const dir = tmp();
  await fit(setup(), 'kfac', dir);
  await assert.rejects(fit(setup({ settings: { maxLen: 64 } }), 'kfac', dir), /maxLen: factors have 96, requested 64/);
  await assert.rejects(loadFactors(dir, { model: { fingerprint: 'f'.repeat(64), path: 'other', architecture: 'llama' } }), /model: factors were fitted for/);
});
