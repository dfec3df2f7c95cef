/**
 * The tfjs forward passes against an independent float64 reference (plain loops), through the real
 * loaders: stories260K from its llama2.c file and from a Hugging Face folder, and a GPT-2 checkpoint in
 * Hugging Face format with the real GPT-2 tokenizer.
 */
import { test, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import { openModel } from '../../server/src/engine/model/openModel';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { referenceLogits } from '../helpers/referenceForward';
import { randomCheckpoint, tinyGpt2Config } from '../helpers/randomCheckpoint';
import { writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { assertRelClose } from '../helpers/compare';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { tfLogits } from '../helpers/modelOutputs';

before(() => initBackend('wasm'));

function assertMatchesReference(ckpt: Checkpoint, tokens: number[], what: string): void {
  const ref = referenceLogits(ckpt, tokens);
  const flat = new Float64Array(ref.length * ckpt.config.vocabSize);
  ref.forEach((row, t) => flat.set(row, t * ckpt.config.vocabSize));
  const err = assertRelClose(tfLogits(ckpt, tokens), flat, 1e-4, what);
  console.log(`# ${what}: relative error ${err.toExponential(2)} over ${tokens.length} tokens`);
}

test('llama: stories260K (llama2.c file) logits match the float64 reference', { skip: SKIP_NO_SHARED }, async () => {
  const m = await openModel(STORIES260K(), TOK512());
  const tokens = [1, ...m.tokenizer.encode('Once upon a time, there was a little dog named Max. He liked to run.')];
  assertMatchesReference(m.checkpoint, tokens, 'stories260K via llama2.c');
});

test('llama: stories260K through a Hugging Face folder (permuted q/k, bf16 too) matches the reference', { skip: SKIP_NO_SHARED }, async () => {
  const original = (await openModel(STORIES260K(), TOK512())).checkpoint;
  const dir = mkdtempSync(join(tmpdir(), 'il-hf-llama-'));
  try {
    for (const dtype of ['F32', 'BF16'] as const) {
      writeHuggingFaceFolder(join(dir, dtype), original, { dtype });
      const loaded = loadCheckpoint(join(dir, dtype));
      const tokens = [1, 300, 45, 67, 89, 100, 200, 7, 300, 411, 12, 13];
      // The reference runs on the loaded weights, so bf16 rounding is part of both sides.
      assertMatchesReference(loaded, tokens, `stories260K via Hugging Face ${dtype}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gpt2: a Hugging Face checkpoint with the real GPT-2 tokenizer matches the reference', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-hf-gpt2-'));
  try {
    for (const activation of ['gelu_new', 'gelu'] as const) {
      const folder = join(dir, activation);
      writeHuggingFaceFolder(folder, randomCheckpoint(tinyGpt2Config({ activation }), 7));
      writeGpt2TokenizerJson(folder);
      const m = await openModel(folder);
      const tokens = [m.tokenizer.bosId, ...m.tokenizer.encode("Hello world! It's 2026, and the model doesn't know.")];
      assertMatchesReference(m.checkpoint, tokens, `gpt2 (${activation}) via Hugging Face`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cpu backend gives the same logits as the reference', { skip: SKIP_NO_SHARED }, async () => {
  const m = await openModel(STORIES260K(), TOK512());
  await initBackend('cpu');
  try {
    assertMatchesReference(m.checkpoint, [1, 20, 30, 40, 50, 60], 'stories260K on cpu');
  } finally {
    await initBackend('wasm');
  }
});
