/**
 * Bad models: a FIFO, a device, non-finite weights, safetensors whose tensors overlap or leave bytes
 * unaccounted for, sharded checkpoints whose index points outside the model folder, configs whose layer
 * count or context is absurd, tokenizers that belong to another model or hold junk merges, and finite
 * weights that overflow are refused at once with the file (and tensor or field) named; the good model
 * then loads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, copyFileSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { assertRefused, editJson, runBounded, scratch } from '../helpers/badInput';
import { randomCheckpoint, tinyGpt2Config, tinyLlamaConfig } from '../helpers/randomCheckpoint';
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
  for (const [tensor, value] of [
    ['layers.2.w1', NaN],
    ['embed', Infinity],
  ] as const) {
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

/** A tiny GPT-2 folder with the real GPT-2 tokenizer, that loads and runs. */
function goodGpt2(dir: string, name = 'good'): string {
  const folder = join(dir, name);
  writeHuggingFaceFolder(folder, randomCheckpoint(tinyGpt2Config(), 5));
  writeGpt2TokenizerJson(folder);
  return folder;
}

test('config.json with millions of layers or an absurd context is refused at once, naming the field (it used to exhaust memory)', async (t) => {
  const dir = scratch(t);
  const folder = goodGpt2(dir);
  const config = join(folder, 'config.json');
  const original = readFileSync(config, 'utf8');
  editJson(config, (c) => (c.n_layer = 4_000_000));
  const started = Date.now();
  const r = await loss(folder);
  assertRefused(r, 1, config, '"n_layer" is 4000000', 'holds tensors of 2 layer(s)');
  assert.ok(Date.now() - started < 60_000, 'refused before anything per layer was built');

  const llama = join(dir, 'llama');
  writeHuggingFaceFolder(llama, randomCheckpoint(tinyLlamaConfig({ vocabSize: 50257 }), 6));
  writeGpt2TokenizerJson(llama);
  editJson(join(llama, 'config.json'), (c) => (c.num_hidden_layers = 1_000_000));
  assertRefused(await loss(llama), 1, join(llama, 'config.json'), '"num_hidden_layers" is 1000000');
  editJson(join(llama, 'config.json'), (c) => {
    c.num_hidden_layers = 2;
    c.max_position_embeddings = 1e12;
  });
  assertRefused(await loss(llama), 1, join(llama, 'config.json'), '"max_position_embeddings" is 1000000000000');

  writeFileSync(config, original);
  const ok = await loss(folder);
  assert.equal(ok.code, 0, ok.stderr);
});

test('a tokenizer with ids beyond the model vocabulary, or junk merges, is refused naming tokenizer.json', async (t) => {
  const dir = scratch(t);
  const small = join(dir, 'small');
  writeHuggingFaceFolder(small, randomCheckpoint(tinyGpt2Config({ vocabSize: 300 }), 7));
  writeGpt2TokenizerJson(small);
  // Used to fail later, in the embedding lookup (GatherV2), naming nothing.
  assertRefused(await loss(small), 1, join(small, 'tokenizer.json'), 'ids up to 50256', 'holds 300');

  const folder = goodGpt2(dir, 'junk');
  const tokenizer = join(folder, 'tokenizer.json');
  const original = readFileSync(tokenizer, 'utf8');
  editJson(tokenizer, (j) => {
    const model = j.model as { merges: unknown[] };
    model.merges.splice(3, 0, 'qqqq zzzz');
  });
  assertRefused(await loss(folder), 1, tokenizer, 'model.merges[3]', '"qqqq"');
  editJson(tokenizer, (j) => {
    const model = j.model as { merges: unknown[] };
    model.merges[3] = 42;
  });
  assertRefused(await loss(folder), 1, tokenizer, 'model.merges[3]', 'not a pair');
  writeFileSync(tokenizer, original);
  const ok = await loss(folder);
  assert.equal(ok.code, 0, ok.stderr);
});

test('finite weights whose forward pass overflows are refused by loss and generate (used to print sumNats null, NUL characters)', async (t) => {
  const dir = scratch(t);
  const checkpoint = randomCheckpoint(tinyGpt2Config(), 8);
  checkpoint.weights.get('final_norm.weight')!.data.fill(3e38);
  const folder = join(dir, 'overflow');
  writeHuggingFaceFolder(folder, checkpoint);
  writeGpt2TokenizerJson(folder);
  assertRefused(await loss(folder), 1, folder, 'overflows float32');
  const gen = await runBounded(['generate', '--model', folder, '--prompt', 'Hello', '--max-tokens', '4', '--workers', '0']);
  assertRefused(gen, 1, folder, 'overflows float32');
  assert.ok(!gen.stdout.includes('\u0000'), 'no NUL characters printed');
  const ok = await loss(goodGpt2(dir));
  assert.equal(ok.code, 0, ok.stderr);
});

test(
  'a model that predicts text no better than chance is warned about, naming the likely causes; trained ones are not',
  { skip: SKIP_NO_SHARED },
  async (t) => {
    const dir = scratch(t);
    const random = await loss(goodGpt2(dir));
    assert.equal(random.code, 0, random.stderr);
    assert.match(random.stderr, /warning: .*good: the loss of plain English sentences is [\d.]+ nats per token, no better than chance among 50257 tokens/);
    assert.match(random.stderr, /another family \(it says gpt2\), a tokenizer of another model, or weights stored transposed/);
    // Trained models, the demo one on other text than the probes (its loss there is above ln(vocab), but ordered text still wins).
    for (const args of [[STORIES260K(), '--tokenizer', TOK512()], ['demo/model']]) {
      const r = await loss(args[0], ...args.slice(1));
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /warning/, r.stderr);
    }
  },
);
