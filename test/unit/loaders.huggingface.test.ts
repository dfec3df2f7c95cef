import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { permuteRopeRows, readHuggingFaceFolder, writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import { readLlama2c } from '../../server/src/engine/model/llama2c';
import { fingerprintCheckpoint, loadCheckpoint } from '../../server/src/engine/model/load';
import { readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../server/src/engine/model/safetensors';
import type { Checkpoint, HostTensor } from '../../server/src/engine/model/types';
import { SKIP_NO_SHARED, STORIES260K } from '../helpers/fixtures';
import { assertWeightsClose, randomCheckpoint, tinyGpt2Config, tinyLlamaConfig } from '../helpers/randomCheckpoint';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-hf-'));
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

function assertSameCheckpoint(actual: Checkpoint, expected: Checkpoint, tol?: (x: number) => number): void {
  assert.deepEqual(actual.config, expected.config);
  assertWeightsClose(actual.weights, expected.weights, tol);
}

const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;

/** llama2.c RoPE: rotate consecutive pairs (2k, 2k+1) by pos·θ^(-2k/hd). */
function ropePairs(v: Float32Array, hd: number, pos: number, theta: number): Float32Array {
  const out = v.slice();
  for (let i = 0; i < v.length; i += 2) {
    const a = pos * theta ** (-(i % hd) / hd);
    out[i] = v[i] * Math.cos(a) - v[i + 1] * Math.sin(a);
    out[i + 1] = v[i] * Math.sin(a) + v[i + 1] * Math.cos(a);
  }
  return out;
}

/** transformers' rotate_half RoPE: rotate (k, k + hd/2) within each head by pos·θ^(-2k/hd). */
function ropeHalf(v: Float32Array, hd: number, pos: number, theta: number): Float32Array {
  const out = v.slice();
  for (let h = 0; h < v.length; h += hd) {
    for (let k = 0; k < hd / 2; k++) {
      const a = pos * theta ** (-(2 * k) / hd);
      const x = v[h + k];
      const y = v[h + k + hd / 2];
      out[h + k] = x * Math.cos(a) - y * Math.sin(a);
      out[h + k + hd / 2] = y * Math.cos(a) + x * Math.sin(a);
    }
  }
  return out;
}

function matvec(w: HostTensor, x: Float32Array): Float32Array {
  const [rows, cols] = w.shape;
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) y[i] += w.data[i * cols + j] * x[j];
  return y;
}

test('stories260K → HF llama folder → read gives the same checkpoint (q/k permutation round trip)', { skip: SKIP_NO_SHARED }, (t) => {
  const dir = tmp(t);
  const v0 = readLlama2c(STORIES260K());
  writeHuggingFaceFolder(dir, v0);
  const config = readJson(join(dir, 'config.json'));
  assert.equal(config.model_type, 'llama');
  assert.deepEqual(config.architectures, ['LlamaForCausalLM']);
  assert.equal(config.tie_word_embeddings, true);
  assert.equal(config.num_key_value_heads, 4);
  const raw = readSafetensorsHeader(join(dir, 'model.safetensors'));
  assert.ok(!raw.tensors.has('lm_head.weight'), 'tied: no lm_head.weight, as save_pretrained writes it');
  assert.deepEqual(raw.tensors.get('model.layers.0.self_attn.k_proj.weight')!.shape, [32, 64]);

  const back = readHuggingFaceFolder(dir);
  assertSameCheckpoint(back, v0);
  assert.equal(back.weights.get('lm_head')!.data, back.weights.get('embed')!.data);
  assert.equal(back.source.kind, 'huggingface');
  assert.equal(back.source.path, dir);
});

test('HF q/k rows are stored rotate-half permuted: RoPE on them matches consecutive-pair RoPE on ours', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig(), 5);
  writeHuggingFaceFolder(dir, ck);
  const raw = readSafetensors(join(dir, 'model.safetensors'));
  const { dim, nHeads, ropeTheta } = ck.config;
  const hd = dim / nHeads;
  const x = new Float32Array(dim).map((_, i) => Math.sin(i + 1));
  for (const [ours, theirs] of [
    ['layers.1.wq', 'model.layers.1.self_attn.q_proj.weight'],
    ['layers.1.wk', 'model.layers.1.self_attn.k_proj.weight'],
  ]) {
    const heads = ck.weights.get(ours)!.shape[0] / hd;
    for (const pos of [0, 3, 17]) {
      const pairs = ropePairs(matvec(ck.weights.get(ours)!, x), hd, pos, ropeTheta);
      const half = ropeHalf(matvec(raw.get(theirs)!, x), hd, pos, ropeTheta);
      // Reordering our rotated vector the HF way must give HF's rotated vector.
      const reordered = permuteRopeRows({ shape: [pairs.length, 1], data: pairs }, heads, true).data;
      reordered.forEach((v, i) => assert.ok(Math.abs(v - half[i]) < 1e-5, `${theirs} pos ${pos} row ${i}: ${v} vs ${half[i]}`));
    }
  }
  // Spelled out for one head of size 8: HF row j*4 + k holds our row 2k + j.
  const w = { shape: [8, 1], data: new Float32Array([0, 1, 2, 3, 4, 5, 6, 7]) };
  assert.deepEqual(Array.from(permuteRopeRows(w, 1, true).data), [0, 2, 4, 6, 1, 3, 5, 7]);
  assert.deepEqual(Array.from(permuteRopeRows(permuteRopeRows(w, 1, true), 1, false).data), [0, 1, 2, 3, 4, 5, 6, 7]);
});

test('F16 and BF16 llama folders read back within their precision', { skip: SKIP_NO_SHARED }, (t) => {
  const dir = tmp(t);
  const v0 = readLlama2c(STORIES260K());
  for (const [dtype, rel, torch] of [
    ['F16', 2 ** -11, 'float16'],
    ['BF16', 2 ** -8, 'bfloat16'],
  ] as const) {
    const sub = join(dir, dtype);
    writeHuggingFaceFolder(sub, v0, { dtype });
    assert.equal(readJson(join(sub, 'config.json')).torch_dtype, torch);
    assert.equal(readSafetensorsHeader(join(sub, 'model.safetensors')).tensors.get('model.norm.weight')!.dtype, dtype);
    const back = readHuggingFaceFolder(sub);
    assertSameCheckpoint(back, v0, (x) => rel * Math.abs(x) + (dtype === 'F16' ? 2 ** -25 : 0));
  }
});

test('untied llama: lm_head.weight is written and read back', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig({ nKvHeads: 4, ropeTheta: 500000, normEps: 1e-6, bosId: 5, eosId: 6 }), 9, 1, {
    tied: false,
  });
  writeHuggingFaceFolder(dir, ck);
  assert.equal(readJson(join(dir, 'config.json')).tie_word_embeddings, false);
  assert.ok(readSafetensorsHeader(join(dir, 'model.safetensors')).tensors.has('lm_head.weight'));
  const back = readHuggingFaceFolder(dir);
  assertSameCheckpoint(back, ck);
  assert.notEqual(back.weights.get('lm_head')!.data, back.weights.get('embed')!.data);
});

test('a sharded folder (two shards + model.safetensors.index.json) loads equal', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig(), 21);
  writeHuggingFaceFolder(dir, ck);
  const all = readSafetensors(join(dir, 'model.safetensors'));
  rmSync(join(dir, 'model.safetensors'));
  const names = [...all.keys()];
  const shards = [names.filter((_, i) => i % 2 === 0), names.filter((_, i) => i % 2 === 1)];
  const weightMap: Record<string, string> = {};
  shards.forEach((group, s) => {
    const file = `model-0000${s + 1}-of-00002.safetensors`;
    writeSafetensors(join(dir, file), new Map(group.map((n) => [n, all.get(n)!])), { dtype: 'BF16', metadata: { format: 'pt' } });
    for (const n of group) weightMap[n] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  const back = readHuggingFaceFolder(dir);
  assertSameCheckpoint(back, ck, (x) => 2 ** -8 * Math.abs(x));
  assert.equal(back.source.files.length, 2);

  // A shard that the index names but that is gone.
  rmSync(join(dir, 'model-00002-of-00002.safetensors'));
  expectError(() => readHuggingFaceFolder(dir), 'NOT_FOUND', 'model-00002-of-00002.safetensors', 'model.safetensors.index.json');
});

test('GPT-2 → HF folder → read gives the same checkpoint; Conv1D is stored [in, out]', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyGpt2Config(), 4);
  writeHuggingFaceFolder(dir, ck);
  const config = readJson(join(dir, 'config.json'));
  assert.equal(config.model_type, 'gpt2');
  assert.equal(config.n_inner, null);
  assert.equal(config.activation_function, 'gelu_new');

  const raw = readSafetensors(join(dir, 'model.safetensors'));
  const fc = raw.get('transformer.h.1.mlp.c_fc.weight')!;
  assert.deepEqual(fc.shape, [32, 128], 'c_fc stored [in, out]');
  const ours = ck.weights.get('layers.1.fc.weight')!;
  assert.deepEqual(ours.shape, [128, 32]);
  assert.equal(fc.data[5 * 128 + 77], ours.data[77 * 32 + 5]);
  assert.deepEqual(raw.get('transformer.h.0.attn.c_attn.weight')!.shape, [32, 96]);
  assert.deepEqual(raw.get('transformer.h.0.mlp.c_proj.weight')!.shape, [128, 32]);
  assert.ok(!raw.has('lm_head.weight'), 'tied to wte');

  const back = readHuggingFaceFolder(dir);
  assertSameCheckpoint(back, ck);
  assert.equal(back.weights.get('lm_head')!.data, back.weights.get('embed')!.data);

  // The hub's gpt2 checkpoint has no `transformer.` prefix (saved from GPT2Model).
  const bare = join(dir, 'bare');
  mkdirSync(bare);
  writeSafetensors(join(bare, 'model.safetensors'), new Map([...raw].map(([n, v]) => [n.replace(/^transformer\./, ''), v])));
  writeFileSync(join(bare, 'config.json'), JSON.stringify({ ...config, tie_word_embeddings: undefined, n_ctx: undefined }));
  assertSameCheckpoint(readHuggingFaceFolder(bare), ck);
});

test('GPT-2 config variants: n_inner, gelu, untied head, defaults', (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyGpt2Config({ vocabSize: 300, hiddenDim: 96, activation: 'gelu', normEps: 1e-6 }), 8, 1, {
    tied: false,
  });
  writeHuggingFaceFolder(dir, ck);
  assert.equal(readJson(join(dir, 'config.json')).n_inner, 96);
  assertSameCheckpoint(readHuggingFaceFolder(dir), ck);

  // A minimal config relies on GPT-2's defaults.
  const small = randomCheckpoint(tinyGpt2Config({ vocabSize: 300 }), 2);
  const min = join(dir, 'min');
  writeHuggingFaceFolder(min, small);
  writeFileSync(join(min, 'config.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: 300, n_embd: 32, n_layer: 2, n_head: 4, n_positions: 64 }));
  assertSameCheckpoint(readHuggingFaceFolder(min), small);
});

test('a missing tensor names the tensor and the file', (t) => {
  const dir = tmp(t);
  writeHuggingFaceFolder(dir, randomCheckpoint(tinyLlamaConfig(), 1));
  const file = join(dir, 'model.safetensors');
  const all = readSafetensors(file);
  all.delete('model.layers.1.mlp.up_proj.weight');
  writeSafetensors(file, all);
  expectError(() => readHuggingFaceFolder(dir), 'MODEL_FORMAT', 'model.layers.1.mlp.up_proj.weight', file);
});

test('a tensor whose shape disagrees with config.json is refused', (t) => {
  const dir = tmp(t);
  writeHuggingFaceFolder(dir, randomCheckpoint(tinyLlamaConfig(), 1));
  const cfg = readJson(join(dir, 'config.json'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 50 }));
  expectError(() => readHuggingFaceFolder(dir), 'MODEL_FORMAT', 'gate_proj', '[48,32]', '[50,32]');
});

test('pickles are refused: by magic, by extension, and a folder with only pytorch_model.bin', (t) => {
  const dir = tmp(t);
  const pickle = join(dir, 'model.bin');
  writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x10, 0, 0, 0, 0, 0, 0, 0, 0x7d, 0x94, 0x2e]));
  expectError(() => loadCheckpoint(pickle), 'PICKLE_REFUSED', 'refusing to load pickled weights', pickle, 'convert the checkpoint to safetensors');
  const legacyTorch = join(dir, 'legacy.bin');
  writeFileSync(legacyTorch, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8]));
  expectError(() => loadCheckpoint(legacyTorch), 'PICKLE_REFUSED', legacyTorch);
  const zip = join(dir, 'model.weights');
  writeFileSync(zip, Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(60)]));
  expectError(() => loadCheckpoint(zip), 'PICKLE_REFUSED', zip);
  for (const ext of ['.pt', '.pth', '.ckpt', '.pkl']) {
    const p = join(dir, `weights${ext}`);
    writeFileSync(p, Buffer.alloc(64));
    expectError(() => loadCheckpoint(p), 'PICKLE_REFUSED', p);
  }
  // A llama2.c header with dim 640 also begins 0x80 0x02: it must not be mistaken for a pickle.
  const dim640 = join(dir, 'dim640.bin');
  const header = Buffer.alloc(28);
  [640, 1708, 2, 10, 10, 512, 64].forEach((v, i) => header.writeInt32LE(v, 4 * i));
  writeFileSync(dim640, header);
  expectError(() => loadCheckpoint(dim640), 'TRUNCATED', dim640);

  const folder = join(dir, 'torch-folder');
  mkdirSync(folder);
  writeFileSync(join(folder, 'pytorch_model.bin'), Buffer.from([0x80, 0x02, 0x8a]));
  expectError(() => loadCheckpoint(folder), 'PICKLE_REFUSED', join(folder, 'pytorch_model.bin'), 'convert the checkpoint to safetensors');
  writeFileSync(join(folder, 'config.json'), JSON.stringify({ model_type: 'llama' }));
  expectError(() => readHuggingFaceFolder(folder), 'PICKLE_REFUSED', 'pytorch_model.bin');
});

test('unknown model_type, rope_scaling, missing config and missing weights are clear errors', (t) => {
  const dir = tmp(t);
  writeHuggingFaceFolder(dir, randomCheckpoint(tinyLlamaConfig(), 1));
  const configPath = join(dir, 'config.json');
  const cfg = readJson(configPath);

  writeFileSync(configPath, JSON.stringify({ ...cfg, model_type: 'mamba' }));
  expectError(() => readHuggingFaceFolder(dir), 'UNSUPPORTED', configPath, '"mamba"', 'llama', 'gpt2');

  // linear and llama3 are implemented (arch.families.test.ts); the others are refused by name.
  writeFileSync(configPath, JSON.stringify({ ...cfg, rope_scaling: { type: 'yarn', factor: 2 } }));
  expectError(() => readHuggingFaceFolder(dir), 'UNSUPPORTED', configPath, 'rope_scaling', '"yarn"');

  writeFileSync(configPath, '{"model_type": "llama",');
  expectError(() => readHuggingFaceFolder(dir), 'MODEL_FORMAT', configPath, 'malformed JSON');

  writeFileSync(configPath, JSON.stringify({ ...cfg, hidden_size: undefined }));
  expectError(() => readHuggingFaceFolder(dir), 'MODEL_FORMAT', configPath, 'hidden_size');

  rmSync(configPath);
  expectError(() => readHuggingFaceFolder(dir), 'MODEL_FORMAT', 'config.json');

  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'config.json'), JSON.stringify(cfg));
  expectError(() => readHuggingFaceFolder(empty), 'NOT_FOUND', empty, 'model.safetensors');

  expectError(() => loadCheckpoint(join(dir, 'nope')), 'NOT_FOUND', join(dir, 'nope'));
});

test('loadCheckpoint: folder, config.json or a weight file inside it; fingerprints', async (t) => {
  const dir = tmp(t);
  const ck = randomCheckpoint(tinyLlamaConfig(), 31);
  const a = join(dir, 'a');
  const b = join(dir, 'b');
  writeHuggingFaceFolder(a, ck);
  writeHuggingFaceFolder(b, ck);
  for (const p of [a, join(a, 'config.json'), join(a, 'model.safetensors')]) assertSameCheckpoint(loadCheckpoint(p), ck);
  const fa = await fingerprintCheckpoint(loadCheckpoint(a));
  assert.equal(await fingerprintCheckpoint(loadCheckpoint(b)), fa, 'same content in another folder');
  const other = randomCheckpoint(tinyLlamaConfig(), 32);
  writeHuggingFaceFolder(b, other);
  assert.notEqual(await fingerprintCheckpoint(loadCheckpoint(b)), fa);
  const lone = join(dir, 'lone.safetensors');
  writeSafetensors(lone, new Map());
  expectError(() => loadCheckpoint(lone), 'MODEL_FORMAT', lone, 'config.json');
});
