/**
 * Bad --out paths: refused in a second with a sentence (exit 2) before any model is opened, and never at
 * the cost of another command's files (report --out included); a locked --out refuses a second writer; a
 * refused run leaves no folder it created; a good --out then works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO, type CliRun } from '../helpers/cli';
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
const scoreTo = (out: string) =>
  runBounded(['score', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--queries', queries, '--out', out, '--workers', '1']);

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
  assert.deepEqual(
    readdirSync(out).filter((f) => f.startsWith('.')),
    [],
    'the write probe is gone',
  );
});

/** The model identity a factor folder records (to load it back in-process). */
function recordedModel(factorsDir: string): { fingerprint: string; path: string; architecture: string } {
  return (JSON.parse(readFileSync(join(factorsDir, 'manifest.json'), 'utf8')) as { model: { fingerprint: string; path: string; architecture: string } }).model;
}

/** A report of the shared results (analysed once), to this --out. */
async function reportTo(out: string): Promise<Awaited<ReturnType<typeof runBounded>>> {
  if (!existsSync(join(results, 'analysis.json')))
    assert.equal((await runBounded(['analyze', '--results', results, '--permutations', '0', '--quiet'])).code, 0);
  return runBounded(['report', '--results', results, '--out', out, '--cards', '3']);
}

/** The report was refused before the corpus was read (it used to read it, then fail or write anyway). */
function assertNoCorpusRead(stderr: string): void {
  assert.doesNotMatch(stderr, /reading the text of|wrote /, `refused before the corpus was read: ${stderr}`);
}

test(
  'report --out never writes over a file it did not write, a device or a link (it replaced results.json, manifest.json, /dev/null)',
  { skip: SKIP_NO_SHARED },
  async (t) => {
    const notes = join(dir, 'notes-report.txt');
    writeFileSync(notes, 'my notes\n');
    const target = join(dir, 'link-target.html');
    writeFileSync(target, '<p>mine</p>\n');
    const link = join(dir, 'link.html');
    symlinkSync(target, link);
    t.after(() => rmSync(link, { force: true }));
    // A device node: as root our own copy of /dev/null (were the check ever lost, the real one would be
    // replaced); where root may not make one, a FIFO stands in.
    let device = '/dev/null';
    let deviceKind = 'is a character device';
    if (process.getuid?.() === 0) {
      device = join(dir, 'null-device');
      t.after(() => rmSync(device, { force: true }));
      try {
        execFileSync('mknod', [device, 'c', '1', '3'], { stdio: 'ignore' });
      } catch {
        execFileSync('mkfifo', [device]);
        deviceKind = 'is a FIFO';
      }
    }
    const kept = [join(results, 'results.json'), join(results, 'scores.f32'), join(factors, 'manifest.json'), notes, target].map(
      (f) => [f, sha256(f)] as const,
    );
    const cases: [string, string][] = [
      [join(results, 'results.json'), 'is not a report written by influence-lens'],
      [join(factors, 'manifest.json'), 'is not a report written by influence-lens'],
      [notes, 'is not a report written by influence-lens'],
      [join(dir, 'fresh', 'scores.f32'), 'is the name of a file of an influence-lens artefact folder'],
      [device, deviceKind],
      [link, 'is a symbolic link'],
      [results, 'is a folder'],
    ];
    for (const [out, says] of cases) {
      const r = await reportTo(out);
      assertRefused(r, 2, out, says);
      assertNoCorpusRead(r.stderr);
    }
    for (const [file, sum] of kept) assert.equal(sha256(file), sum, `${file} untouched`);
    const st = statSync(device);
    assert.ok(st.isCharacterDevice() || st.isFIFO(), `${device} is still what it was`);
    assert.ok(lstatSync(link).isSymbolicLink(), 'the link is still a link');
    assert.ok(!existsSync(join(dir, 'fresh')), 'no folder left behind');
    readResults(results); // still loads
    assert.equal((await runBounded(['analyze', '--results', results, '--permutations', '0', '--quiet'])).code, 0, 'the next analyze still works');

    // A good --out, then the same again: a report it wrote is replaced.
    const good = join(dir, 'reports', 'r.html');
    for (let i = 0; i < 2; i++) {
      const ok = await reportTo(good);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout.trim(), good);
      assert.match(readFileSync(good, 'utf8'), /^<!DOCTYPE html>[^]*<meta name="generator" content="influence-lens /);
    }
    assert.deepEqual(readdirSync(join(dir, 'reports')), ['r.html'], 'no temp file left');
  },
);

test(
  'report --out /proc/self/fd/1 is refused at once naming the link (it said "does not exist" after reading the corpus); --out - writes to stdout',
  { skip: SKIP_NO_SHARED },
  async () => {
    const r = await reportTo('/proc/self/fd/1');
    assertRefused(r, 2, '/proc/self/fd/1', 'is a symbolic link', 'or - for standard output');
    assert.doesNotMatch(r.stderr, /does not exist/);
    assertNoCorpusRead(r.stderr);
    const out = await reportTo('-');
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /^<!DOCTYPE html>/);
    assert.match(out.stdout, /<\/html>\n$/);
  },
);

test(
  'two score --out X at once: the second is refused naming the first (one result used to be lost); a stale lock is taken over',
  { skip: SKIP_NO_SHARED },
  async () => {
    const out = join(dir, 'contended');
    const lock = join(out, '.influence-lens.lock');
    const first = scoreTo(out);
    // The first holds the folder from before its model is opened until its results are written.
    const started = Date.now();
    while (!existsSync(lock)) {
      assert.ok(Date.now() - started < 60_000, 'the first score never locked its --out');
      await new Promise((r) => setTimeout(r, 20));
    }
    const holder = (JSON.parse(readFileSync(lock, 'utf8')) as { pid: number }).pid;
    const second = await scoreTo(out);
    assertRefused(second, 1, out, `is being written by process ${holder}`);
    assertNothingComputed(second.stderr);
    const done = await first;
    assert.equal(done.code, 0, done.stderr);
    assert.equal(readResults(out).results.documents.length, 8);
    assert.ok(!existsSync(lock), 'the lock goes with the command');

    // A lock left by a process that no longer runs (killed) does not block the folder.
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
    writeFileSync(lock, JSON.stringify({ pid: dead, host: hostname(), startedAt: '2026-01-01T00:00:00.000Z', command: 'influence-lens score' }) + '\n');
    const again = await scoreTo(out);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(!existsSync(lock));
    readResults(out);
  },
);

test('a refused run leaves no --out folder behind (bad queries, bad damping); the same command then succeeds', { skip: SKIP_NO_SHARED }, async () => {
  const root = join(dir, 'refused');
  const out = join(root, 'nested', 'results');
  const broken = join(dir, 'broken-queries.jsonl');
  writeFileSync(broken, '{"prompt": "Once upon a time"}\n{"prompt": \n');
  const bad = await runBounded(['score', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--queries', broken, '--out', out, '--workers', '1']);
  assertRefused(bad, 1, `${broken}:2`);
  assert.ok(!existsSync(root), `${root} was created by the refused run and is gone`);
  const damping = await runBounded([
    'score',
    ...modelArgs(),
    '--corpus',
    corpus,
    '--factors',
    factors,
    '--queries',
    queries,
    '--out',
    out,
    '--damping',
    '1e300',
  ]);
  assertRefused(damping, 2, '--damping 1e+300');
  assert.ok(!existsSync(root));
  // An existing folder is never removed, even empty.
  mkdirSync(root);
  assertRefused(
    await runBounded(['score', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--queries', broken, '--out', root, '--workers', '1']),
    1,
    broken,
  );
  assert.deepEqual(readdirSync(root), []);
  const ok = await scoreTo(out);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(readResults(out).results.documents.length, 8);
});

test(
  'analyze on a read-only results folder names --results and why it writes there (it blamed --out, an option analyze does not have)',
  { skip: SKIP_NO_SHARED },
  async (t) => {
    const ro = join(dir, 'read-only-results');
    cpSync(results, ro, { recursive: true });
    rmSync(join(ro, 'analysis.json'), { force: true });
    const cli = join(REPO, 'bin', 'influence-lens.js');
    const args = ['analyze', '--results', ro, '--permutations', '0'];
    let r: CliRun;
    if (process.getuid?.() === 0) {
      // root writes through permission bits: a read-only bind mount in a user and mount namespace of its own.
      const mounted = spawnSync(
        'unshare',
        ['-rm', 'sh', '-c', `mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"`, ro, process.execPath, cli, ...args],
        { encoding: 'utf8', timeout: 120_000 },
      );
      if (mounted.error || /unshare|mount:/.test(mounted.stderr)) return t.skip(`no read-only mount here: ${mounted.error?.message ?? mounted.stderr}`);
      r = { code: mounted.status, stdout: mounted.stdout, stderr: mounted.stderr };
    } else {
      chmodSync(ro, 0o555);
      t.after(() => chmodSync(ro, 0o755));
      r = await runBounded(args);
    }
    assertRefused(r, 2, `--results ${ro}`, 'analyze writes analysis.json beside the results');
    assert.doesNotMatch(r.stderr, /--out/);
    if (process.getuid?.() === 0) assert.match(r.stderr, /read-only/);
    assert.ok(!existsSync(join(ro, 'analysis.json')));
    if (process.getuid?.() !== 0) chmodSync(ro, 0o755);
    const ok = await runBounded(args);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(ro, 'analysis.json')));
  },
);
