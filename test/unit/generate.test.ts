/**
 * Greedy decoding with the key/value cache against the same decoding that recomputes the whole prefix for
 * every token (the reference): the same tokens, the same logits at every step, no tensor left behind.
 * Llama (stories260K, grouped-query attention, RoPE), the demo model (Hugging Face Llama) and GPT-2
 * (learned positions, biases).
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { generateGreedy, generateGreedyUncached } from '../../server/src/engine/inference/generate';
import { KvCache } from '../../server/src/engine/model/kvCache';
import { openModel } from '../../server/src/engine/model/openModel';
import { TfModel } from '../../server/src/engine/model/tfModel';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { tf } from '../../server/src/engine/tf';
import { randomCheckpoint, tinyGpt2Config, tinyLlamaConfig } from '../helpers/randomCheckpoint';
import { REPO } from '../helpers/cli';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

before(() => initBackend('wasm'));

/** Logits of the last position: the whole sequence at once, and step by step through a cache. */
function lastLogits(model: TfModel, tokens: number[]): { full: Float32Array; cached: Float32Array } {
  const full = tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32'));
    return tf.slice(logits, [tokens.length - 1, 0], [1, -1]);
  });
  const cache = new KvCache();
  let cached: tf.Tensor | undefined;
  try {
    // A prefill of the first half, then one token at a time.
    const half = Math.ceil(tokens.length / 2);
    const chunks = [tokens.slice(0, half), ...tokens.slice(half).map((t) => [t])];
    for (const chunk of chunks) {
      cached?.dispose();
      cached = tf.tidy(() => {
        const logits = model.forward(tf.tensor2d(chunk, [1, chunk.length], 'int32'), undefined, cache);
        return tf.slice(logits, [chunk.length - 1, 0], [1, -1]);
      });
      cache.commit();
    }
    return { full: full.dataSync() as Float32Array, cached: cached!.dataSync() as Float32Array };
  } finally {
    full.dispose();
    cached?.dispose();
    cache.dispose();
  }
}

async function checkModel(ckpt: Checkpoint, prompts: number[][], maxNewTokens: number, stopIds: number[]): Promise<void> {
  const model = new TfModel(ckpt);
  try {
    // Shape constants (masks, RoPE tables) are made once by the first pass and owned by the model.
    await generateGreedy(model, prompts[0], { maxNewTokens: 2, stopIds });
    const before = tf.memory().numTensors;
    for (const prompt of prompts) {
      const cached = await generateGreedy(model, prompt, { maxNewTokens, stopIds });
      const reference = await generateGreedyUncached(model, prompt, { maxNewTokens, stopIds });
      assert.deepEqual(cached, reference, `prompt ${prompt.slice(0, 8).join(',')}…`);
      const { full, cached: viaCache } = lastLogits(model, [...prompt, ...reference]);
      let worst = 0;
      for (let i = 0; i < full.length; i++) worst = Math.max(worst, Math.abs(full[i] - viaCache[i]));
      assert.ok(worst < 1e-4, `logits through the cache differ by ${worst}`);
    }
    assert.equal(tf.memory().numTensors, before, 'decoding leaves no tensor behind');
  } finally {
    model.dispose();
  }
}

test('cached greedy decoding equals the uncached reference: random Llama (GQA) and GPT-2', async () => {
  const llama = randomCheckpoint(tinyLlamaConfig(), 3);
  await checkModel(llama, [[1, 5, 9], [1], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]], 24, []);
  const gpt2 = randomCheckpoint(tinyGpt2Config({ vocabSize: 300, bosId: 299, eosId: 299 }), 4);
  await checkModel(gpt2, [[299, 17, 42], [299]], 24, []);
});

test('cached greedy decoding equals the uncached reference: stories260K', { skip: SKIP_NO_SHARED }, async () => {
  const m = await openModel(STORIES260K(), TOK512());
  const prompts = ['Once upon a time, there was a little girl named', 'The dog ran', ''].map((p) => [1, ...m.tokenizer.encode(p)]);
  await checkModel(m.checkpoint, prompts, 48, [1, 2]);
});

test('cached greedy decoding equals the uncached reference: the demo model', async () => {
  const m = await openModel(join(REPO, 'demo', 'model'));
  const bos = m.tokenizer.bosId;
  const prompts = ['Q: What is the capital of Japan?\nA:', 'Calculate the answer: (13 - 4) * 7\n\nThink step-by-step.\n\n'].map((p) => [
    bos,
    ...m.tokenizer.encode(p),
  ]);
  await checkModel(m.checkpoint, prompts, 40, [m.tokenizer.eosId]);
});

test('a first-line completion is the full completion cut at its first newline after content (the demo model)', async () => {
  const run = await ModelRun.open({ model: join(REPO, 'demo', 'model'), backend: 'wasm', workers: 1 });
  try {
    const model = new TfModel(run.checkpoint);
    try {
      const { tokenizer } = run;
      const stopIds = [tokenizer.eosId];
      for (const text of ['Q: What is the capital of Japan?\nA:', 'Q: What is the currency of Norway?\nA:\n']) {
        const prompt = [run.bos, ...tokenizer.encode(text)];
        const full = await generateGreedy(model, prompt, { maxNewTokens: 40, stopIds });
        const line = await generateGreedy(model, prompt, { maxNewTokens: 40, stopIds, lineEnd: run.lineEnd });
        const fullText = tokenizer.decode(full, prompt.at(-1));
        const lineText = tokenizer.decode(line, prompt.at(-1));
        // The reference: the decoded full completion cut before the first newline that follows content.
        const content = fullText.search(/\S/);
        const nl = fullText.indexOf('\n', content);
        assert.ok(content >= 0 && nl > content, `the demo model answers and goes on: ${JSON.stringify(fullText)}`);
        assert.equal(lineText, fullText.slice(0, nl));
        assert.deepEqual(line, full.slice(0, line.length), 'the same greedy tokens, fewer of them');
      }
    } finally {
      model.dispose();
    }
  } finally {
    await run.dispose();
  }
});
