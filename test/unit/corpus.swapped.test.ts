/**
 * A corpus file swapped for a FIFO after the corpus was listed (stat'ed) and before it is read is refused
 * at once, naming the file: every corpus reader opens the file once, non-blocking, checks the opened
 * handle and reads from it. (The readers used to stat the path and then stream it, so the swapped FIFO
 * blocked a libuv thread in open until something wrote to it.) JSONL, compressed JSONL, .txt, a folder of
 * text files, Parquet shards and the fingerprint's pass.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { fileChunks } from '../../server/src/engine/corpus/compressed';
import { readCorpus } from '../../server/src/engine/corpus/corpus';
import { isInfluenceLensError } from '../../server/src/engine/errors';

// A regression blocks in open(): fail after this long instead of hanging the suite.
const BLOCKED = { timeout: 20_000 };

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-swapped-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Replaces `file` by a FIFO; on cleanup, a reader blocked on it (a regression) is let go by opening it for writing. */
function swapForFifo(t: { after: (fn: () => void) => void }, file: string): void {
  rmSync(file);
  execFileSync('mkfifo', [file]);
  t.after(() => {
    try {
      closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // ENXIO: nobody is reading it, as it should be.
    }
  });
}

const refusedFifo = (file: string) => (e: unknown) => isInfluenceLensError(e, 'NOT_A_FILE') && e.message.includes(file) && e.message.includes('FIFO');

/** Reads the corpus at `path`, swapping `victim` for a FIFO once the corpus has been listed. */
async function readSwapped(t: { after: (fn: () => void) => void }, path: string, victim: string): Promise<number> {
  let documents = 0;
  for await (const _ of readCorpus({ path }, undefined, undefined, { onInput: () => swapForFifo(t, victim) })) documents++;
  return documents;
}

const line = (id: string) => JSON.stringify({ id, source: 's', text: `document ${id}` }) + '\n';

for (const [name, content] of [
  ['corpus.jsonl', line('a')],
  ['corpus.jsonl.gz', gzipSync(line('a'))],
  ['corpus.txt', 'one story<|endoftext|>another'],
] as const) {
  test(`${name}: swapped for a FIFO after it was listed, it is refused at once`, BLOCKED, async (t) => {
    const dir = scratch(t);
    const file = join(dir, name);
    writeFileSync(file, content);
    await assert.rejects(readSwapped(t, file, file), refusedFifo(file));
  });
}

test('a folder of text files: a file swapped for a FIFO after the listing is refused; the folder reads when it is back', BLOCKED, async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'stories'));
  const victim = join(dir, 'stories', 'b.txt');
  writeFileSync(join(dir, 'stories', 'a.txt'), 'first');
  writeFileSync(victim, 'second');
  await assert.rejects(readSwapped(t, dir, victim), refusedFifo(victim));
  rmSync(victim);
  writeFileSync(victim, 'second');
  let documents = 0;
  for await (const _ of readCorpus({ path: dir })) documents++;
  assert.equal(documents, 2);
});

test('a folder of shards: a JSONL or Parquet shard swapped for a FIFO after the listing is refused', BLOCKED, async (t) => {
  const dir = scratch(t);
  const data = join(dir, 'data');
  mkdirSync(data);
  const jsonl = join(data, 'train-00000-of-00002.jsonl');
  const parquet = join(data, 'train-00001-of-00002.parquet');
  writeFileSync(jsonl, line('a'));
  writeFileSync(parquet, 'PAR1 (swapped before it is read)');
  await assert.rejects(readSwapped(t, dir, parquet), refusedFifo(parquet));
  rmSync(parquet);
  writeFileSync(parquet, 'PAR1');
  await assert.rejects(readSwapped(t, dir, jsonl), refusedFifo(jsonl));
});

test("the fingerprint's pass and the raw reader refuse a FIFO, a device and a folder by name", BLOCKED, async (t) => {
  const dir = scratch(t);
  const fifo = join(dir, 'pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  const drain = async (file: string) => {
    for await (const _ of fileChunks(file)) break;
  };
  await assert.rejects(drain(fifo), refusedFifo(fifo));
  await assert.rejects(drain('/dev/zero'), (e) => isInfluenceLensError(e, 'NOT_A_FILE') && e.message.includes('character device'));
  await assert.rejects(drain(dir), (e) => isInfluenceLensError(e, 'NOT_A_FILE') && e.message.includes('a folder'));
  const file = join(dir, 'c.jsonl');
  writeFileSync(file, line('a').repeat(10_000));
  let bytes = 0;
  for await (const chunk of fileChunks(file, { chunkBytes: 1000 })) bytes += chunk.length;
  assert.equal(bytes, line('a').length * 10_000);
});
