/** `influence-lens fit` then `score` end to end on stories260K + TinyStories: the documented results folder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { readResults } from '../../server/src/engine/results/io';
import { RESULTS_VERSION } from '../../server/src/engine/results/types';

test('fit then score writes results.json + scores.f32 and prints the top documents', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-influence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 40);
  // Two malformed lines, which must be reported with file:line and skipped.
  writeFileSync(corpus, [...lines.slice(0, 10), '{"text": broken', ...lines.slice(10), '{"id": "no-text"}'].join('\n') + '\n');
  const queries = join(dir, 'queries.jsonl');
  writeFileSync(
    queries,
    [
      { id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.', kind: 'factual', answer: 'Lily' },
      { id: 'own', prompt: 'One day, Tom went to the park and', kind: 'control' },
    ]
      .map((q) => JSON.stringify(q))
      .join('\n') + '\n',
  );
  const model = ['--model', STORIES260K(), '--tokenizer', TOK512()];
  const factors = join(dir, 'factors');
  const f = await runCli(['fit', ...model, '--corpus', corpus, '--out', factors, '--max-len', '128', '--workers', '2']);
  assert.equal(f.code, 0, f.stderr);
  assert.match(f.stderr, /backend wasm/);
  assert.match(f.stderr, /covariance: done[\s\S]*eigen: done[\s\S]*lambda: done/);
  assert.match(f.stderr, /corpus\.jsonl:11/, 'malformed line reported with file:line');
  // With the stages cached, fit --index builds the index in a pass of its own.
  const fitIndex = join(dir, 'index-fit');
  const again = await runCli(['fit', ...model, '--corpus', corpus, '--out', factors, '--max-len', '128', '--index', fitIndex, '--sketch', 'eigen:8x8']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stderr, /index built: .*index-fit \(40 documents, sketch eigen:8x8, 1020 bytes per document\)/);

  const out = join(dir, 'results');
  const s = await runCli(['score', ...model, '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', out, '--top', '3', '--self']);
  assert.equal(s.code, 0, s.stderr);
  const r = readResults(out);
  assert.equal(r.results.version, RESULTS_VERSION);
  assert.equal(r.results.documents.length, 40);
  assert.equal(r.results.corpus.skipped, 2);
  assert.equal(r.results.queries.length, 2);
  assert.equal(r.results.queries[1].generated, true, 'a query without completion gets the greedy one');
  assert.ok(r.results.queries.every((q) => q.nllNats > 0 && q.promptTokens[0] === 1 && q.completionTokens.length > 0));
  assert.equal(r.scores.length, 2 * 40);
  assert.ok(r.self && r.self.every((x) => x > 0), 'self-influence is positive');
  assert.ok(existsSync(join(out, 'scores.f32')));
  assert.match(s.stdout, /query lily \(factual\)/);
  assert.match(s.stdout, /rank\s+score\/nat/);
  assert.equal(s.stdout.split('\n').filter((l) => /^\s+[123]\s/.test(l)).length, 6, 'top 3 rows per query');

  // The gradient index: build, then score from it with the top and bottom 5 rescored exactly.
  const index = join(dir, 'index');
  const i = await runCli(['index', ...model, '--corpus', corpus, '--factors', factors, '--out', index, '--sketch', 'eigen:8x8', '--quiet']);
  assert.equal(i.code, 0, i.stderr);
  const chunks = (d: string) => (JSON.parse(readFileSync(join(d, 'manifest.json'), 'utf8')) as { chunks: unknown }).chunks;
  assert.deepEqual(chunks(index), chunks(fitIndex), 'index and fit --index write the same rows');
  const viaIndex = join(dir, 'results-index');
  const si = await runCli([
    'score',
    ...model,
    '--corpus',
    corpus,
    '--factors',
    factors,
    '--queries',
    queries,
    '--out',
    viaIndex,
    '--index',
    index,
    '--rerank',
    '5',
    '--top',
    '2',
    '--quiet',
  ]);
  assert.equal(si.code, 0, si.stderr);
  const ri = readResults(viaIndex);
  assert.equal(ri.results.method.scoring, 'index');
  assert.equal(ri.results.method.index?.sketch, 'eigen:8x8');
  assert.equal(ri.results.method.index?.bytesPerDocument, 1020);
  assert.equal(ri.results.documents.length, 40);
  const exactDocs = ri.results.documents.filter((d) => d.exact);
  assert.ok(exactDocs.length >= 10 && exactDocs.length <= 20, `${exactDocs.length} documents reranked`);
  // Reranked documents carry the exact scores.
  for (const [j, d] of ri.results.documents.entries()) {
    if (!d.exact) continue;
    const e = r.results.documents.findIndex((x) => x.index === d.index);
    for (let q = 0; q < 2; q++) assert.ok(Math.abs(ri.scores[q * 40 + j] - r.scores[q * 40 + e]) <= 1e-4 * Math.abs(r.scores[q * 40 + e]) + 1e-6);
  }
  // Ranked as a hover ranks (candidates rescored from the rescoring tier, its best and worst exact): each
  // query's top 3 and bottom 3 are the exact ones, with the exact scores.
  assert.equal(ri.results.method.index?.candidatesPerQuery, 40, 'every document of the small corpus is a candidate');
  const order = (scores: Float32Array, q: number, docs: { index: number }[]) =>
    docs
      .map((d, j) => ({ index: d.index, s: scores[q * 40 + j] }))
      .sort((a, b) => b.s - a.s)
      .map((x) => x.index);
  for (let q = 0; q < 2; q++) {
    const want = order(r.scores, q, r.results.documents);
    const got = order(ri.scores, q, ri.results.documents);
    assert.deepEqual(got.slice(0, 3), want.slice(0, 3), `query ${q}: the exact top 3`);
    assert.deepEqual(got.slice(-3), want.slice(-3), `query ${q}: the exact bottom 3`);
  }
  const bad = await runCli(['score', ...model, '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', viaIndex, '--index', index, '--self']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--self needs a pass over the corpus/);
  const badSketch = await runCli(['index', ...model, '--corpus', corpus, '--factors', factors, '--out', join(dir, 'index-bad'), '--sketch', 'eigen:0x8']);
  assert.notEqual(badSketch.code, 0);
  assert.match(badSketch.stderr, /--sketch "eigen:0x8": eigen takes kSxkA/);
});

test('score refuses factors of another model and bad queries with file:line', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-influence-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'c.jsonl');
  writeFileSync(corpus, '{"text": "Lily had a ball."}\n{"text": "Tom ran fast."}\n');
  const factors = join(dir, 'f');
  const model = ['--model', STORIES260K(), '--tokenizer', TOK512()];
  assert.equal((await runCli(['fit', ...model, '--corpus', corpus, '--out', factors, '--strategy', 'identity', '--quiet'])).code, 0);
  const queries = join(dir, 'q.jsonl');
  writeFileSync(queries, '{"prompt": "Lily"}\n{"prompt": "x", "kind": "opinion"}\n');
  const bad = await runCli(['score', ...model, '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', join(dir, 'r')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /q\.jsonl:2/);
  const empty = await runCli(['fit', ...model, '--corpus', join(dir, 'missing.jsonl'), '--out', join(dir, 'g')]);
  assert.notEqual(empty.code, 0);
  assert.match(empty.stderr, /missing\.jsonl/);
});
