/**
 * The engine's hardening helpers on their own: bounded reads of regular files only (sync and async,
 * cancellable), terminal escaping, metadata checksums, and output folder preparation.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { openRegularFile, readFileBounded, readFileBoundedAsync, readJsonBounded } from '../../server/src/engine/util/files';
import { OUTPUT_LOCK, prepareOutput, releaseOutput } from '../../server/src/engine/util/output';
import { canonicalJson, seal, verifySeal } from '../../server/src/engine/util/seal';
import { safeForTerminal } from '../../server/src/engine/util/terminal';

function scratch(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-util-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const refusal =
  (code: string, ...mentions: string[]) =>
  (e: unknown) =>
    isInfluenceLensError(e, code) && mentions.every((m) => e.message.includes(m));

test('bounded reads: regular files only (a FIFO is refused without blocking), with a size limit', async (t) => {
  const dir = scratch(t);
  const fifo = join(dir, 'pipe');
  execFileSync('mkfifo', [fifo]);
  const file = join(dir, 'f.json');
  writeFileSync(file, '{"a": 1}');
  assert.throws(() => openRegularFile(fifo, 'model file'), refusal('NOT_A_FILE', fifo, 'FIFO'));
  assert.throws(() => readFileBounded(dir, { maxBytes: 10 }), refusal('NOT_A_FILE', 'a folder'));
  assert.throws(() => readFileBounded('/dev/zero', { maxBytes: 10 }), refusal('NOT_A_FILE', 'character device'));
  assert.throws(() => readFileBounded(join(dir, 'none'), { maxBytes: 10, what: 'config' }), refusal('NOT_FOUND', 'cannot open config', 'it does not exist'));
  assert.throws(() => readFileBounded(file, { maxBytes: 4 }), refusal('TOO_LARGE', file, 'has 8 bytes'));
  assert.deepEqual(readJsonBounded(file, { maxBytes: 8 }), { a: 1 });
  writeFileSync(file, Buffer.from([0x7b, 0xff, 0x7d]));
  assert.throws(() => readJsonBounded(file, { maxBytes: 8, what: 'manifest' }), refusal('NOT_UTF8', file));

  await assert.rejects(readFileBoundedAsync(fifo, { maxBytes: 10 }), refusal('NOT_A_FILE', 'FIFO'));
  writeFileSync(file, Buffer.alloc(9 << 20, 7));
  assert.equal((await readFileBoundedAsync(file, { maxBytes: 16 << 20 })).length, 9 << 20);
  await assert.rejects(readFileBoundedAsync(file, { maxBytes: 1 << 20 }), refusal('TOO_LARGE'));
  const abort = new AbortController();
  abort.abort();
  await assert.rejects(readFileBoundedAsync(file, { maxBytes: 16 << 20, signal: abort.signal }), (e: Error) => e.name === 'AbortError');
  await assert.rejects(readFileBoundedAsync(file, { maxBytes: 16 << 20, timeoutMs: -1 }), refusal('TIMEOUT', file));
});

test('safeForTerminal shows control characters instead of sending them', () => {
  const raw = 'a\u001b]0;title\u0007b\u001b[2J\rc\u009b1m\u202eevil\u2028d\te\nf';
  assert.equal(safeForTerminal(raw), 'a\\u001b]0;title\\u0007b\\u001b[2J\\rc\\u009b1m\\u202eevil\\u2028d\te\\nf');
  assert.equal(safeForTerminal(raw, { multiline: true }).split('\n').length, 2);
  assert.equal(safeForTerminal('café 😀 日本'), 'café 😀 日本');
});

test('metadata seals: canonical over key order and number spelling, refused when a value changes', () => {
  assert.equal(canonicalJson({ b: [1, { d: 1e2, c: 'x' }], a: null }), '{"a":null,"b":[1,{"c":"x","d":100}]}');
  const sealed = seal({ counts: { documents: 8 }, strategy: 'ekfac' });
  const check = { file: '/f/manifest.json', what: 'factor manifest', code: 'X', remedy: 'refit' };
  verifySeal(JSON.parse(JSON.stringify(sealed, null, 4)), check);
  verifySeal({ strategy: 'ekfac', metadataSha256: sealed.metadataSha256, counts: { documents: 8.0 } }, check);
  assert.throws(
    () => verifySeal({ ...sealed, counts: { documents: 9 } }, check),
    refusal('X', '/f/manifest.json', 'does not match its metadata checksum', 'refit'),
  );
  assert.throws(() => verifySeal({ strategy: 'ekfac' }, check), refusal('X', 'no metadata checksum'));
});

test('prepareOutput creates, probes and refuses, without leaving anything behind', (t) => {
  const dir = scratch(t);
  const out = prepareOutput(join(dir, 'a', 'b'), 'results');
  assert.deepEqual(readdirSync(out), [OUTPUT_LOCK], 'the probe file is gone; the folder is locked while prepared');
  releaseOutput(out);
  assert.deepEqual(readdirSync(out), [], 'released: nothing left');
  writeFileSync(join(out, 'results.json'), '{}');
  assert.equal(prepareOutput(out, 'results'), out);
  t.after(() => releaseOutput(out));
  assert.throws(() => prepareOutput(out, 'index'), refusal('USAGE', 'holds scoring results'));
  const other = join(dir, 'm');
  mkdirSync(other);
  writeFileSync(join(other, 'manifest.json'), '{"name": "some other tool"}');
  assert.throws(() => prepareOutput(other, 'factors'), refusal('USAGE', 'a manifest.json that influence-lens did not write'));
  assert.throws(() => prepareOutput(out, 'results', [join(dir, 'a', '.', 'b')]), refusal('USAGE', 'is also an input'));
  assert.throws(() => prepareOutput(join(out, 'results.json', 'x'), 'results'), refusal('USAGE', 'not a folder'));
  assert.ok(!existsSync(join(dir, 'a', 'b', 'results.json', 'x')));
});
