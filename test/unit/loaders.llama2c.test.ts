import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { readLlama2c, writeLlama2cV1 } from '../../server/src/engine/model/llama2c';
import { fingerprintCheckpoint, loadCheckpoint } from '../../server/src/engine/model/load';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { SKIP_NO_SHARED, STORIES260K } from '../helpers/fixtures';
import { assertWeightsClose, randomCheckpoint, tinyGpt2Config, tinyLlamaConfig } from '../helpers/randomCheckpoint';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-llama2c-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function expectError(fn: () => unknown, code: string, ...fragments: string[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InfluenceLensError, `expected InfluenceLensError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    for (const f of fragments) assert.ok(e.message.includes(f), `"${e.message}" should mention ${f}`);
    return true;
  });
}

/** An independent v0 writer following run.c's memory_map_weights, for the untied case. */
function writeV0(path: string, ck: Checkpoint, shared: boolean): void {
  const c = ck.config;
  const hd = c.dim / c.nHeads;
  const header = Buffer.alloc(28);
  [c.dim, c.hiddenDim, c.nLayers, c.nHeads, c.nKvHeads, shared ? c.vocabSize : -c.vocabSize, c.maxSeqLen].forEach((v, i) => header.writeInt32LE(v, 4 * i));
  const parts: Uint8Array[] = [header];
  const put = (name: string) => parts.push(new Uint8Array(ck.weights.get(name)!.data.buffer.slice(0)));
  const layers = (k: string) => {
    for (let i = 0; i < c.nLayers; i++) put(`layers.${i}.${k}`);
  };
  put('embed');
  ['attn_norm', 'wq', 'wk', 'wv', 'wo', 'mlp_norm', 'w1', 'w2', 'w3'].forEach(layers);
  put('final_norm');
  parts.push(new Uint8Array(4 * c.maxSeqLen * hd)); // freq_cis_real + freq_cis_imag, hd/2 each
  if (!shared) put('lm_head');
  writeFileSync(path, Buffer.concat(parts));
}

test('stories260K (v0) header and weights', { skip: SKIP_NO_SHARED }, () => {
  const ck = readLlama2c(STORIES260K());
  assert.deepEqual(ck.config, {
    architecture: 'llama',
    vocabSize: 512,
    dim: 64,
    hiddenDim: 172,
    nLayers: 5,
    nHeads: 8,
    nKvHeads: 4,
    maxSeqLen: 512,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'silu',
    bosId: 1,
    eosId: 2,
  });
  assert.equal(ck.weights.size, 3 + 9 * 5);
  assert.deepEqual(ck.weights.get('layers.4.wk')!.shape, [32, 64]);
  assert.deepEqual(ck.weights.get('layers.0.w2')!.shape, [64, 172]);
  assert.equal(ck.weights.get('lm_head')!.data, ck.weights.get('embed')!.data, 'classifier shared with the embedding');
  const norm = ck.weights.get('final_norm')!.data;
  assert.ok(
    norm.every((x) => Number.isFinite(x) && x > 0),
    'a trained RMSNorm gain is positive',
  );
  assert.deepEqual(ck.source, { kind: 'llama2c', path: STORIES260K(), files: [STORIES260K()] });
  // Weights are in float32 and finite everywhere.
  for (const [name, t] of ck.weights) assert.ok(t.data.every(Number.isFinite), name);
});

test('stories260K v0 → write v1 → read gives the same checkpoint', { skip: SKIP_NO_SHARED }, (t) => {
  const dir = tmp(t);
  const v0 = readLlama2c(STORIES260K());
  const path = join(dir, 'stories260K.v1.bin');
  writeLlama2cV1(path, v0);
  const bytes = readFileSync(path);
  assert.equal(bytes.readUInt32LE(0), 0x616b3432);
  assert.equal(bytes.toString('latin1', 0, 4), '24ka', 'magic "ak42" as a little-endian uint32');
  assert.equal(bytes.readInt32LE(4), 1);
  assert.equal(bytes[36], 1, 'shared classifier flag');
  const params = [...v0.weights].filter(([n]) => n !== 'lm_head').reduce((a, [, w]) => a + w.data.length, 0);
  assert.equal(bytes.length, 256 + 4 * params);
  const v1 = readLlama2c(path);
  assert.deepEqual(v1.config, v0.config);
  assertWeightsClose(v1.weights, v0.weights);
  assert.equal(v1.weights.get('lm_head')!.data, v1.weights.get('embed')!.data);
});

test('untied classifier: v0 (negative vocab) and v1 both read back exactly', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig(), 11, 1, { tied: false });
  const v0 = join(dir, 'untied.v0.bin');
  writeV0(v0, ck, false);
  const a = readLlama2c(v0);
  assert.deepEqual(a.config, ck.config);
  assertWeightsClose(a.weights, ck.weights);
  assert.notEqual(a.weights.get('lm_head')!.data, a.weights.get('embed')!.data);

  const v1 = join(dir, 'untied.v1.bin');
  writeLlama2cV1(v1, ck);
  assert.equal(readFileSync(v1)[36], 0);
  assertWeightsClose(readLlama2c(v1).weights, ck.weights);

  const shared = join(dir, 'shared.v0.bin');
  const tied = randomCheckpoint(tinyLlamaConfig(), 12);
  writeV0(shared, tied, true);
  assertWeightsClose(readLlama2c(shared).weights, tied.weights);
});

test('a truncated llama2.c file names the file with expected vs actual bytes', { skip: SKIP_NO_SHARED }, (t) => {
  const dir = tmp(t);
  const full = readFileSync(STORIES260K());
  const path = join(dir, 'half.bin');
  writeFileSync(path, full.subarray(0, full.length / 2));
  expectError(() => readLlama2c(path), 'TRUNCATED', path, String(full.length), String(full.length / 2));
  expectError(() => loadCheckpoint(path), 'TRUNCATED', path);
});

test('a file with extra bytes is refused with both sizes', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig(), 3);
  const path = join(dir, 'long.bin');
  writeLlama2cV1(path, ck);
  const size = statSync(path).size;
  writeFileSync(path, Buffer.concat([readFileSync(path), Buffer.alloc(4)]));
  expectError(() => readLlama2c(path), 'MODEL_FORMAT', path, String(size), String(size + 4));
});

test('headers that make no sense are "not a llama2.c checkpoint"', (t) => {
  const dir = tmp(t);
  const cases: [string, number[]][] = [
    ['zero dim', [0, 172, 5, 8, 4, 512, 512]],
    ['dim not divisible by heads', [65, 172, 5, 8, 4, 512, 512]],
    ['heads not divisible by kv heads', [64, 172, 5, 8, 3, 512, 512]],
    ['negative layers', [64, 172, -5, 8, 4, 512, 512]],
    ['odd head size', [24, 172, 5, 8, 4, 512, 512]],
    ['absurd hidden', [64, 2 ** 30, 5, 8, 4, 512, 512]],
  ];
  for (const [why, ints] of cases) {
    const path = join(dir, `${why.replace(/ /g, '-')}.bin`);
    const buf = Buffer.alloc(4096);
    ints.forEach((v, i) => buf.writeInt32LE(v, 4 * i));
    writeFileSync(path, buf);
    expectError(() => readLlama2c(path), 'MODEL_FORMAT', path, 'not a llama2.c checkpoint');
  }
  const text = join(dir, 'readme.bin');
  writeFileSync(text, 'Once upon a time there was a model file that was really a text file.');
  expectError(() => readLlama2c(text), 'MODEL_FORMAT', text, 'not a llama2.c checkpoint');
  const tiny = join(dir, 'tiny.bin');
  writeFileSync(tiny, Buffer.alloc(10));
  expectError(() => readLlama2c(tiny), 'MODEL_FORMAT', tiny, 'not a llama2.c checkpoint');
});

test('version 2 (int8) is refused as unsupported; unknown versions as not llama2.c', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'q80.bin');
  const buf = Buffer.alloc(256);
  buf.writeUInt32LE(0x616b3432, 0);
  buf.writeInt32LE(2, 4);
  [64, 172, 5, 8, 4, 512, 512].forEach((v, i) => buf.writeInt32LE(v, 8 + 4 * i));
  writeFileSync(path, buf);
  expectError(() => readLlama2c(path), 'UNSUPPORTED', path, 'version 2', 'int8');
  buf.writeInt32LE(7, 4);
  writeFileSync(path, buf);
  expectError(() => readLlama2c(path), 'MODEL_FORMAT', path, 'version 7');
});

test('writeLlama2cV1 refuses GPT-2 checkpoints', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyGpt2Config({ vocabSize: 100 }), 1);
  expectError(() => writeLlama2cV1(join(dir, 'x.bin'), ck), 'UNSUPPORTED', 'gpt2');
});

test('loadCheckpoint dispatches a file to llama2.c; fingerprints follow content', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = tmp(t);
  const a = loadCheckpoint(STORIES260K());
  assert.equal(a.source.kind, 'llama2c');
  const fp = await fingerprintCheckpoint(a);
  assert.match(fp, /^[0-9a-f]{64}$/);
  assert.equal(await fingerprintCheckpoint(readLlama2c(STORIES260K())), fp);

  const copy = join(dir, 'copy.bin');
  writeFileSync(copy, readFileSync(STORIES260K()));
  assert.equal(await fingerprintCheckpoint(loadCheckpoint(copy)), fp, 'same bytes, same fingerprint, wherever they live');
  const changed = readFileSync(STORIES260K());
  changed[1000] ^= 1;
  writeFileSync(copy, changed);
  assert.notEqual(await fingerprintCheckpoint(loadCheckpoint(copy)), fp);

  // In-memory checkpoints hash their tensors.
  const r1 = await fingerprintCheckpoint(randomCheckpoint(tinyLlamaConfig(), 1));
  assert.equal(await fingerprintCheckpoint(randomCheckpoint(tinyLlamaConfig(), 1)), r1);
  assert.notEqual(await fingerprintCheckpoint(randomCheckpoint(tinyLlamaConfig(), 2)), r1);
});
