/**
 * Bad corpora: text that is not UTF-8 (JSONL lines, Latin-1 or binary files in a folder, parts of a .txt
 * corpus) is reported as file:line or file, skipped and counted in the results, never decoded to U+FFFD;
 * control sequences in corpus text, ids and sources never reach the terminal raw; a FIFO is refused at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { assertNoRawControls, assertRefused, fitTiny, modelArgs, runBounded, scoreTiny, storyLines, writeCorpus, writeQueries } from '../helpers/badInput';
import { readResults } from '../../server/src/engine/results/io';
import { readManifest } from '../../server/src/engine/ekfac/store';

let dir: string;
let queries: string;
/** Factors fitted on a clean corpus: scoring may use another corpus than fitting. */
let factors: string;

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-bad-corpora-'));
  queries = writeQueries(dir);
  factors = join(dir, 'factors');
  await fitTiny(writeCorpus(dir, 8, [], 'clean.jsonl'), factors);
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

const latin1 = (s: string) => Buffer.from(s, 'latin1');

test('JSONL lines that are not UTF-8 are reported as file:line, skipped, and counted in factors and results', { skip: SKIP_NO_SHARED }, async () => {
  const corpus = writeCorpus(
    dir,
    6,
    [latin1('{"text": "Le caf\u00e9 \u00e9tait ferm\u00e9."}'), Buffer.from([0x7b, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])],
    'mixed.jsonl',
  );
  const fitted = join(dir, 'mixed-factors');
  const fit = await runBounded(['fit', ...modelArgs(), '--corpus', corpus, '--out', fitted, '--workers', '1', '--max-len', '32']);
  assert.equal(fit.code, 0, fit.stderr);
  assert.match(fit.stderr, /mixed\.jsonl:7: not valid UTF-8 text/);
  assert.match(fit.stderr, /mixed\.jsonl:8: not valid UTF-8 text/);
  assert.equal(readManifest(fitted)!.stages.covariance!.skipped, 2);
  assert.equal(readManifest(fitted)!.stages.covariance!.documents, 6);

  const out = join(dir, 'mixed-results');
  const r = await scoreTiny(corpus, factors, queries, out);
  assert.equal(r.code, 0, r.stderr);
  const { results } = readResults(out);
  assert.equal(results.documents.length, 6);
  assert.equal(results.corpus.skipped, 2);
  assert.deepEqual(
    results.corpus.skippedIssues.map((i) => [i.file, i.line, i.reason]),
    [
      [corpus, 7, 'not valid UTF-8 text'],
      [corpus, 8, 'not valid UTF-8 text'],
    ],
  );
  assert.ok(results.documents.every((d) => !d.id.includes('\ufffd')));
});

test('a folder corpus skips Latin-1 and binary files, naming each, and counts them', { skip: SKIP_NO_SHARED }, async () => {
  const folder = join(dir, 'folder');
  mkdirSync(join(folder, 'stories'), { recursive: true });
  mkdirSync(join(folder, 'other'), { recursive: true });
  storyLines(4).forEach((l, i) => writeFileSync(join(folder, 'stories', `s${i}.txt`), (JSON.parse(l) as { text: string }).text));
  writeFileSync(join(folder, 'other', 'latin1.txt'), latin1('Il \u00e9tait une fois une petite fille.'));
  writeFileSync(join(folder, 'other', 'image.md'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52]));
  const out = join(dir, 'folder-results');
  const r = await runBounded(['score', ...modelArgs(), '--corpus', folder, '--factors', factors, '--queries', queries, '--out', out, '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /other\/image\.md: binary file/);
  assert.match(r.stderr, /other\/latin1\.txt: not UTF-8 text/);
  const { results } = readResults(out);
  assert.equal(results.documents.length, 4);
  assert.equal(results.corpus.skipped, 2);
  assert.deepEqual(results.corpus.skippedIssues.map((i) => i.file).sort(), [join(folder, 'other', 'image.md'), join(folder, 'other', 'latin1.txt')]);
});

test('a .txt corpus skips the story holding bytes that are not UTF-8, at its line', { skip: SKIP_NO_SHARED }, async () => {
  const txt = join(dir, 'stories.txt');
  const texts = storyLines(3).map((l) => (JSON.parse(l) as { text: string }).text.replace(/\n/g, ' '));
  writeFileSync(
    txt,
    Buffer.concat([
      Buffer.from(`${texts[0]}\n<|endoftext|>\n`),
      latin1('Un caf\u00e9.\n'),
      Buffer.from(`<|endoftext|>\n${texts[1]}\n<|endoftext|>\n${texts[2]}\n`),
    ]),
  );
  const out = join(dir, 'txt-results');
  const r = await scoreTiny(txt, factors, queries, out);
  assert.equal(r.code, 0, r.stderr);
  const { results } = readResults(out);
  assert.equal(results.documents.length, 3);
  assert.deepEqual(
    results.corpus.skippedIssues.map((i) => [i.line, i.reason]),
    [[3, 'not valid UTF-8 text; the document holding it is skipped']],
  );
});

test('escape and OSC sequences in corpus text, ids and sources are shown, not sent to the terminal', { skip: SKIP_NO_SHARED }, async () => {
  const evil = '\u001b]0;pwned\u0007\u001b[2J\u009b31m';
  const corpus = writeCorpus(
    dir,
    3,
    [JSON.stringify({ id: `id${evil}`, source: `src${evil}`, text: `Lily was a little girl named Lily.${evil} Lily.` })],
    'evil.jsonl',
  );
  const r = await scoreTiny(corpus, factors, queries, join(dir, 'evil-results'), ['--top', '4']);
  assert.equal(r.code, 0, r.stderr);
  assertNoRawControls(r.stdout + r.stderr, 'score --top');
  assert.ok(r.stdout.includes('\\u001b]0;pwned\\u0007'), r.stdout);
  const analyzed = await runBounded(['analyze', '--results', join(dir, 'evil-results'), '--permutations', '10']);
  assert.equal(analyzed.code, 0, analyzed.stderr);
  assertNoRawControls(analyzed.stdout + analyzed.stderr, 'analyze');
});

test('a corpus that is a FIFO is refused at once; one with no usable document leaves no factors', { skip: SKIP_NO_SHARED }, async (t) => {
  const fifo = join(dir, 'corpus-pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  t.after(() => rmSync(fifo, { force: true }));
  assertRefused(await scoreTiny(fifo, factors, queries, join(dir, 'fifo-results')), 1, fifo, 'neither a file nor a folder');

  const junk = join(dir, 'junk.jsonl');
  writeFileSync(junk, Buffer.concat([latin1('{"text": "caf\u00e9"}\n'), Buffer.from('{"text": ""}\n')]));
  const out = join(dir, 'junk-factors');
  const r = await runBounded(['fit', ...modelArgs(), '--corpus', junk, '--out', out, '--workers', '1', '--max-len', '32', '--quiet']);
  assertRefused(r, 1, junk, 'no usable documents');
  assert.deepEqual(readManifest(out)?.stages ?? {}, {}, 'no stage recorded');
  await fitTiny(writeCorpus(dir, 4, [], 'good.jsonl'), join(dir, 'good-factors'));
});
