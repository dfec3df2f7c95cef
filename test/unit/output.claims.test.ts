/**
 * Output folders as a long-lived process (the language server) uses them: a results folder is locked
 * while prepared and unlocked when released, a prepare in the same process is shared, a failed run removes
 * the folders it created (only while empty, never one that existed), and report files are refused over
 * anything report did not write.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LOCK_STALE_MS, OUTPUT_LOCK, prepareOutput, prepareOutputFile, releaseOutput, withOutputs } from '../../server/src/engine/util/output';

function scratch(t: { after: (f: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-output-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('a prepared results folder is locked until its last release; a failed run removes the folders it created', async (t) => {
  const dir = scratch(t);
  const out = join(dir, 'a', 'b');
  prepareOutput(out, 'results');
  assert.ok(existsSync(join(out, OUTPUT_LOCK)));
  prepareOutput(out, 'results'); // the same process: shared
  releaseOutput(out);
  assert.ok(existsSync(join(out, OUTPUT_LOCK)), 'still held once');
  releaseOutput(out, { failed: true });
  assert.ok(!existsSync(join(dir, 'a')), 'both created folders are gone');

  // A failure inside withOutputs: the same; a success keeps the folder, without the lock.
  await assert.rejects(
    withOutputs([() => prepareOutput(out, 'results')], async () => Promise.reject(new Error('boom'))),
    /boom/,
  );
  assert.ok(!existsSync(join(dir, 'a')));
  await withOutputs([() => prepareOutput(out, 'results')], async () => writeFileSync(join(out, 'results.json'), '{}'));
  assert.deepEqual(readdirSync(out), ['results.json']);
  // A folder that existed, or holds something, is never removed.
  const existing = join(dir, 'existing');
  mkdirSync(existing);
  await assert.rejects(withOutputs([() => prepareOutput(existing, 'results')], async () => Promise.reject(new Error('boom'))));
  assert.deepEqual(readdirSync(existing), []);
  // Factor folders are shared by a fit's shards: not locked.
  const factors = join(dir, 'factors');
  prepareOutput(factors, 'factors');
  assert.ok(!existsSync(join(factors, OUTPUT_LOCK)));
  releaseOutput(factors);
});

test('prepareOutputFile: a new file or a report it wrote; never a link, a folder, another file, or an artefact file name', (t) => {
  const dir = scratch(t);
  const isOurs = (head: string) => head.startsWith('<!DOCTYPE html><meta name="generator" content="influence-lens');
  const file = (path: string) => prepareOutputFile(path, { what: 'a report', isOurs });
  const ours = join(dir, 'ours.html');
  writeFileSync(ours, '<!DOCTYPE html><meta name="generator" content="influence-lens 0.1.0">');
  assert.equal(file(ours), ours);
  releaseOutput(ours);
  const theirs = join(dir, 'theirs.html');
  writeFileSync(theirs, '<p>hand written</p>');
  assert.throws(() => file(theirs), /already exists and is not a report written by influence-lens/);
  const link = join(dir, 'link.html');
  symlinkSync(ours, link);
  assert.throws(() => file(link), /is a symbolic link \(to .*ours\.html\)/);
  assert.throws(() => file(dir), /is a folder/);
  assert.throws(() => file(join(dir, 'new', 'analysis.json')), /analysis\.json is the name of a file of an influence-lens artefact folder/);
  assert.ok(!existsSync(join(dir, 'new')));
  const nested = join(dir, 'x', 'y', 'r.html');
  assert.equal(file(nested), nested);
  releaseOutput(nested, { failed: true });
  assert.ok(!existsSync(join(dir, 'x')), 'the folders made for it go with a failed run');
});

test("another machine's lock: refused while it beats, taken over once untouched for LOCK_STALE_MS", (t) => {
  const out = join(scratch(t), 'r');
  mkdirSync(out);
  const lock = join(out, OUTPUT_LOCK);
  writeFileSync(lock, JSON.stringify({ pid: 1, host: 'node-17.cluster', startedAt: '2026-12-07T00:00:00Z', command: 'cli.js score' }));
  assert.throws(
    () => prepareOutput(out, 'results'),
    (e: Error & { code?: string }) => e.code === 'OUTPUT_BUSY' && /process 1 on node-17\.cluster/.test(e.message),
  );
  const old = new Date(Date.now() - LOCK_STALE_MS - 1_000);
  utimesSync(lock, old, old);
  assert.equal(prepareOutput(out, 'results'), out, 'a retried shard on another node takes the dead writer’s lock');
  assert.match(readFileSync(lock, 'utf8'), new RegExp(`"pid":${process.pid}`));
  releaseOutput(out);
  assert.ok(!existsSync(lock));
});
