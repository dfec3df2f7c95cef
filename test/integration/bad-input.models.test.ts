/**
 * Bad models: a FIFO, a device, non-finite weights, safetensors whose tensors overlap or leave bytes
 * unaccounted for, and sharded checkpoints whose index points outside the model folder are refused at
 * once with the file (and tensor) named; the good model then loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { assertRefused, runBounded, scratch } from '../helpers/badInput';
import { randomCheckpoint, tinyGpt2Config } from '../helpers/randomCheckpoint';
import { writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { readLlama2c, writeLlama2cV1 } from '../../server/src/engine/model/llama2c';
import { writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import { readSafetensorsHeader } from '../../server/src/engine/model/safetensors';

const loss = (model: string, ...more: string[]) => runBounded(['loss', '--model', model, '--text', 'Hello there', '--workers', '0', ...more]);

test('a model, tokenizer or config that is a FIFO or a device is refused at once (a FIFO used to hang)', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  const fifo = join(dir, 'model.bin');
  execFileSync('mkfifo', [fifo]);
  assertRefused(await loss(fifo, '--tokenizer', TOK512()), 1, fifo, 'FIFO');
  assertRefused(await loss('/dev/zero', '--tokenizer', TOK512()), 1, '/dev/zero', 'character device');
  assertRefused(await loss(STORIES260K(), '--tokenizer', fifo), 1, fifo, 'FIFO');
  const hf = join(dir, 'hf');
  writeHuggingFaceFolder(hf, randomCheckpoint(tinyGpt2Config(), 2));
  rmSync(join(hf, 'config.json'));
  execFileSync('mkfifo', [join(hf, 'config.json')]);
  assertRefused(await loss(hf), 1, join(hf, 'config.json'), 'FIFO');
  const ok = await loss(STORIES260K(), '--tokenizer', TOK512());
  assert.equal(ok.code, 0, ok.stderr);
});

test('NaN or infinite weights are refused at load, naming the tensor and the file', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  for (const [tensor, value] of [['layers.2.w1', NaN], ['embed', Infinity]] as const) {
    const checkpoint = readLlama2c(STORIES260K());
    const data = Float32Array.from(checkpoint.weights.get(tensor)!.data);
    data[17] = value;
    checkpoint.weights.set(tensor, { ...checkpoint.weights.get(tensor)!, data });
    if (tensor === 'embed') checkpoint.weights.set('lm_head', { ...checkpoint.weights.get('lm_head')!, data });
    const path = join(dir, `${tensor}.bin`);
    writeLlama2cV1(path, checkpoint);
    assertRefused(await loss(path, '--tokenizer', TOK512()), 1, path, `tensor "${tensor}"`, String(value));
  }
});

/** Rewrites a safetensors file's header (the data bytes stay as they are). */
function editHeader(path: string, edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>) => void): void {
  const bytes = readFileSync(path);
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  edit(header);
  let json = Buffer.from(JSON.stringify(header));
  json = Buffer.concat([json, Buffer.alloc((8 - (json.length % 8)) % 8, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, bytes.subarray(8 + n)]));
}

test('safetensors whose tensors overlap, leave gaps or trailing bytes, or hold NaN are refused', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  const good = join(dir, 'good');
  writeHuggingFaceFolder(good, randomCheckpoint(tinyGpt2Config(), 3));
  writeGpt2TokenizerJson(good);
  const ok = await loss(good);
  assert.equal(ok.code, 0, ok.stderr);

  const variant = (name: string, damage: (weights: string) => void): string => {
    const folder = join(dir, name);
    mkdirSync(folder);
    for (const f of ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(good, f), join(folder, f));
    damage(join(folder, 'model.safetensors'));
    return join(folder, 'model.safetensors');
  };
  const overlap = variant('overlap', (w) =>
    editHeader(w, (h) => {
      // Two tensors of the same size share the first one's bytes: the model would silently be another one.
      const [a, b] = Object.entries(h).filter(([k, e]) => k !== '__metadata__' && e.shape.join() === String(tinyGpt2Config().dim));
      b[1].data_offsets = [...a[1].data_offsets];
    }),
  );
  assertRefused(await loss(join(dir, 'overlap')), 1, overlap, 'overlaps tensor');
  const trailing = variant('trailing', (w) => appendFileSync(w, Buffer.alloc(16)));
  assertRefused(await loss(join(dir, 'trailing')), 1, trailing, 'belong to no tensor');
  const nan = variant('nan', (w) => {
    const bytes = readFileSync(w);
    bytes.writeFloatLE(NaN, bytes.length - 4); // the last value of the last tensor
    writeFileSync(w, bytes);
  });
  assertRefused(await loss(join(dir, 'nan')), 1, nan, 'NaN');
});

test('a sharded checkpoint whose index names files outside the model folder is refused', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  const inside = join(dir, 'model');
  writeHuggingFaceFolder(inside, randomCheckpoint(tinyGpt2Config(), 4));
  writeGpt2TokenizerJson(inside);
  mkdirSync(join(dir, 'elsewhere'));
  renameSync(join(inside, 'model.safetensors'), join(dir, 'elsewhere', 'weights.safetensors'));
  const names = [...readSafetensorsHeader(join(dir, 'elsewhere', 'weights.safetensors')).tensors.keys()];
  const mapTo = (file: string) => ({ weight_map: Object.fromEntries(names.map((k) => [k, file])) });
  const index = join(inside, 'model.safetensors.index.json');
  writeFileSync(index, JSON.stringify(mapTo('../elsewhere/weights.safetensors')));
  assertRefused(await loss(inside), 1, index, 'outside the model folder');
  writeFileSync(index, JSON.stringify(mapTo(join(dir, 'elsewhere', 'weights.safetensors'))));
  assertRefused(await loss(inside), 1, index, 'outside the model folder');
  renameSync(join(dir, 'elsewhere', 'weights.safetensors'), join(inside, 'model-00001-of-00001.safetensors'));
  writeFileSync(index, JSON.stringify(mapTo('model-00001-of-00001.safetensors')));
  const ok = await loss(inside);
  assert.equal(ok.code, 0, ok.stderr);
});
