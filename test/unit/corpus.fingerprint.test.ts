/**
 * The corpus fingerprint computed during a pass (CorpusFingerprinter fed by readCorpus's hooks) equals
 * the one corpusFingerprint() computes by reading the files again, for every corpus format, and is
 * undefined when the pass stops before the end.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readCorpus } from '../../server/src/engine/corpus/corpus';
import { CorpusFingerprinter, corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import type { CorpusOptions } from '../../server/src/engine/corpus/types';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-fp-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Reads the corpus with a fingerprinter attached; `stopAfter` breaks out of the pass early. */
async function duringPass(options: CorpusOptions, stopAfter = Infinity): Promise<{ digest: string | undefined; documents: number }> {
  const fingerprinter = new CorpusFingerprinter(options);
  let documents = 0;
  for await (const _ of readCorpus(options, undefined, undefined, fingerprinter.hooks)) {
    if (++documents >= stopAfter) break;
  }
  return { digest: fingerprinter.digest(), documents };
}

/** Enough text that the JSONL reader sees several 64 KiB chunks. */
const story = (i: number) => `Story ${i}: ${'Lily and Tom played in the park with a red ball. '.repeat(40)}`;

test('JSONL: the fingerprint taken during the pass equals corpusFingerprint()', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'c.jsonl');
  const lines = Array.from({ length: 120 }, (_, i) => Buffer.from(JSON.stringify({ id: `d${i}`, source: i % 2 ? 'a' : 'b', text: story(i) }) + '\r\n'));
  lines.splice(5, 0, Buffer.from('{"text": broken\n'), Buffer.from([0x7b, 0xff, 0x7d, 0x0a]));
  writeFileSync(path, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), ...lines]));
  for (const options of [{ path }, { path, idField: 'source', maxDocs: 500 }]) {
    const { digest, documents } = await duringPass(options);
    assert.equal(documents, 120);
    assert.equal(digest, await corpusFingerprint(options), JSON.stringify(options));
  }
  assert.notEqual((await duringPass({ path })).digest, (await duringPass({ path, idField: 'source' })).digest, 'reader settings are part of it');
});

test('a .txt corpus of <|endoftext|>-separated stories', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'stories.txt');
  writeFileSync(path, Array.from({ length: 60 }, (_, i) => story(i)).join('\n<|endoftext|>\n') + '\n');
  const { digest, documents } = await duringPass({ path });
  assert.equal(documents, 60);
  assert.equal(digest, await corpusFingerprint({ path }));
});

test('a folder: nested files, an empty one, a binary and a Latin-1 one (read and skipped), other extensions left out', async (t) => {
  const dir = scratch(t);
  mkdirSync(join(dir, 'code', 'deep'), { recursive: true });
  mkdirSync(join(dir, 'wiki'));
  writeFileSync(join(dir, 'top.txt'), story(0));
  writeFileSync(join(dir, 'code', 'empty.md'), '');
  writeFileSync(join(dir, 'code', 'deep', 'a.txt'), story(1));
  writeFileSync(join(dir, 'code', 'binary.txt'), Buffer.from([1, 0, 2, 0, 3]));
  writeFileSync(join(dir, 'wiki', 'latin1.txt'), Buffer.from('caf\u00e9', 'latin1'));
  writeFileSync(join(dir, 'wiki', 'b.md'), story(2));
  writeFileSync(join(dir, 'wiki', 'ignored.json'), '{}');
  writeFileSync(join(dir, 'zz-empty.txt'), '');
  const { digest, documents } = await duringPass({ path: dir });
  assert.equal(documents, 3);
  assert.equal(digest, await corpusFingerprint({ path: dir }));
});

test('a pass that stops early gives no fingerprint (maxDocs, break)', async (t) => {
  const dir = scratch(t);
  const path = join(dir, 'c.jsonl');
  writeFileSync(path, Array.from({ length: 200 }, (_, i) => JSON.stringify({ text: story(i) })).join('\n') + '\n');
  assert.equal((await duringPass({ path, maxDocs: 3 })).digest, undefined);
  assert.equal((await duringPass({ path }, 3)).digest, undefined);
  const folder = join(dir, 'f');
  mkdirSync(folder);
  for (let i = 0; i < 4; i++) writeFileSync(join(folder, `${i}.txt`), story(i));
  assert.equal((await duringPass({ path: folder }, 2)).digest, undefined);
  assert.equal((await duringPass({ path: folder })).digest, await corpusFingerprint({ path: folder }));
});
