/**
 * Bad --out paths: refused in a second with a sentence (exit 2) before any model is opened, and never at
 * the cost of another command's files; a good --out then works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { assertRefused, fitTiny, modelArgs, runBounded, scoreTiny, sha256, writeCorpus, writeQueries } from '../helpers/badInput';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { readResults } from '../../server/src/engine/results/io';

let dir: string;
let corpus: string;
let queries: string;
let factors: string;
let results: string;

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-bad-paths-'));
  corpus = writeCorpus(dir, 8);
  queries = writeQueries(dir);
  factors = join(dir, 'factors');
  await fitTiny(corpus, factors);
  results = join(dir, 'results');
  assert.equal((await scoreTiny(corpus, factors, queries, results)).code, 0);
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

/** score with this --out, without --quiet: the log shows whether a model was opened. */
const scoreTo = (out: string) => runBounded(['score', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', out, '--workers', '1']);

function assertNothingComputed(stderr: string): void {
  assert.doesNotMatch(stderr, /influence-lens: backend |fingerprinting|scoring corpus|query gradients/, `refused before the model was opened: ${stderr}`);
}

test('--out on procfs is refused at once with a sentence (it used to spin at 100% CPU after the whole pass)', { skip: SKIP_NO_SHARED }, async () => {
  const r = await scoreTo('/proc/influence-lens-x');
  assertRefused(r, 2, '/proc/influence-lens-x', 'does not allow');
  assertNothingComputed(r.stderr);
  assert.ok(!existsSync('/proc/influence-lens-x'));
});

test('--out that is an existing file, a FIFO, or below a file: exit 2, the file untouched', { skip: SKIP_NO_SHARED }, async (t) => {
  const file = join(dir, 'notes.txt');
  writeFileSync(file, 'my notes\n');
  const before = sha256(file);
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  t.after(() => rmSync(fifo, { force: true }));
  for (const [out, says] of [
    [file, 'is a regular file; it must be a folder'],
    [fifo, 'is a FIFO (named pipe)'],
    [join(file, 'sub'), 'a part of the path is a file'],
  ] as const) {
    const r = await scoreTo(out);
    assertRefused(r, 2, out, says);
    assertNothingComputed(r.stderr);
  }
  assert.equal(sha256(file), before);
});

test('an unwritable --out is refused before any computing, with a sentence', { skip: SKIP_NO_SHARED }, async (t) => {
  // root ignores permission bits: a folder of procfs (exists, but nothing can be created in it) stands in.
  let out = '/proc/self';
  if (process.getuid?.() !== 0) {
    out = join(dir, 'locked');
    mkdirSync(out);
    chmodSync(out, 0o555);
    t.after(() => chmodSync(out, 0o755));
  }
  const r = await scoreTo(out);
  assertRefused(r, 2, out, 'cannot write to');
  assertNothingComputed(r.stderr);
});

test('index --out aimed at a factor folder is refused and deletes nothing (it used to delete manifest.json)', { skip: SKIP_NO_SHARED }, async () => {
  const other = join(dir, 'other-factors');
  await fitTiny(corpus, other, ['--strategy', 'kfac']);
  const manifest = sha256(join(other, 'manifest.json'));
  const listing = readdirSync(other).sort();
  for (const out of [factors, other]) {
    const r = await runBounded(['index', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--out', out, '--workers', '1']);
    assertRefused(r, 2, out);
    assertNothingComputed(r.stderr);
  }
  assert.equal(sha256(join(other, 'manifest.json')), manifest);
  assert.deepEqual(readdirSync(other).sort(), listing);
  await loadFactors(other, { model: recordedModel(other) }); // still loads
});

test('score, fit and merge refuse an --out that holds another kind of artefact, or one of their inputs', { skip: SKIP_NO_SHARED }, async () => {
  const resultsJson = sha256(join(results, 'results.json'));
  const texts = join(dir, 'texts');
  mkdirSync(texts, { recursive: true });
  writeFileSync(join(texts, 'a.txt'), 'Lily had a red ball.');
  const cases: [string[], string][] = [
    [['fit', ...modelArgs(), '--corpus', texts, '--out', texts, '--workers', '1'], 'is also an input'],
    [['fit', ...modelArgs(), '--corpus', corpus, '--out', results, '--workers', '1'], 'holds scoring results'],
    [['score', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', factors, '--workers', '1'], 'is also an input'],
    [['merge', '--results', results, '--out', results], 'is also an input'],
    [['merge', '--index', factors, '--out', results], 'holds scoring results'],
  ];
  for (const [args, says] of cases) {
    const r = await runBounded(args);
    assertRefused(r, 2, says);
    assertNothingComputed(r.stderr);
  }
  assert.equal(sha256(join(results, 'results.json')), resultsJson);
  readResults(results);
  await loadFactors(factors, { model: recordedModel(factors) });
});

test('after a refusal, the same command with a good --out succeeds', { skip: SKIP_NO_SHARED }, async () => {
  const out = join(dir, 'new', 'nested', 'results');
  const r = await scoreTo(out);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(readResults(out).results.documents.length, 8);
  assert.deepEqual(readdirSync(out).filter((f) => f.startsWith('.')), [], 'the write probe is gone');
});

/** The model identity a factor folder records (to load it back in-process). */
function recordedModel(factorsDir: string): { fingerprint: string; path: string; architecture: string } {
  return (JSON.parse(readFileSync(join(factorsDir, 'manifest.json'), 'utf8')) as { model: { fingerprint: string; path: string; architecture: string } }).model;
}
