/**
 * PathWatcher (server/src/session/watch.ts): a burst of changes to a watched file calls back once; a file
 * deleted and put back is still seen (it is watched through its folder); other files in that folder are not
 * changes; close() drops a change not yet reported.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, test } from 'node:test';
import { PathWatcher } from '../../server/src/session/watch';

const dir = mkdtempSync(join(tmpdir(), 'il-watch-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Longer than the watcher's debounce (500 ms). */
const SETTLE_MS = 1200;

function watched(file: string) {
  const seen = { calls: 0 };
  const watcher = new PathWatcher(() => void seen.calls++);
  watcher.watch([file, '']);
  return { seen, watcher };
}

test('a burst of writes to a watched file calls back once', async () => {
  const file = join(dir, 'model.bin');
  writeFileSync(file, 'a');
  const { seen, watcher } = watched(file);
  for (const text of ['b', 'c', 'd']) writeFileSync(file, text);
  await sleep(SETTLE_MS);
  watcher.close();
  assert.equal(seen.calls, 1);
});

test('a file deleted and put back is seen; another file in its folder is not', async () => {
  const file = join(dir, 'corpus.jsonl');
  writeFileSync(file, '{}');
  const { seen, watcher } = watched(file);
  writeFileSync(join(dir, 'unrelated.txt'), 'x');
  await sleep(SETTLE_MS);
  assert.equal(seen.calls, 0);
  unlinkSync(file);
  writeFileSync(file, '{"text": "back"}');
  await sleep(SETTLE_MS);
  watcher.close();
  assert.equal(seen.calls, 1);
});

test('close() drops a change not yet reported', async () => {
  const file = join(dir, 'factors');
  writeFileSync(file, '1');
  const { seen, watcher } = watched(file);
  writeFileSync(file, '2');
  await sleep(50); // the change arrives, the debounce has not fired
  watcher.close();
  await sleep(SETTLE_MS);
  assert.equal(seen.calls, 0);
});
