/**
 * `identity` influence equals the dot product of flattened autograd gradients of the tracked weights,
 * on the real stories260K (llama) and on a GPT-2 with biases.
 */
import { test, before } from 'node:test';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { TfModel } from '../../server/src/engine/model/tfModel';
import { openModel, type OpenedModel } from '../../server/src/engine/model/openModel';
import { writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import type { CaptureSequence } from '../../server/src/engine/capture/types';
import { autogradWeightGradients, actualLabels } from '../helpers/autograd';
import { assertRelClose } from '../helpers/compare';
import { fit, queryRecords, score, writeJsonlCorpus } from '../helpers/influence';
import { randomCheckpoint, tinyGpt2Config } from '../helpers/randomCheckpoint';
import { writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

before(() => initBackend('wasm'));

function flatGradient(model: TfModel, seq: CaptureSequence): Float64Array {
  const grads = autogradWeightGradients(model, [seq], actualLabels([seq]));
  const parts = model.tracked.map((m) => grads.get(m.name)!);
  const out = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
}

async function checkIdentity(m: OpenedModel, texts: string[], queries: { prompt: string; completion: string }[], maxLen: number, what: string) {
  const corpus = writeJsonlCorpus(texts.map((text) => ({ text })));
  const dir = mkdtempSync(join(tmpdir(), 'il-identity-'));
  try {
    const setup = { model: m, corpus, settings: { maxLen }, workers: 2 };
    await fit(setup, 'identity', dir);
    const out = await score(setup, dir, queryRecords(queries));
    const model = new TfModel(m.checkpoint);
    try {
      const bos = m.tokenizer.bosId >= 0 ? m.tokenizer.bosId : m.checkpoint.config.bosId;
      const docGrads = texts.map((t) => flatGradient(model, { tokens: [bos, ...m.tokenizer.encode(t)].slice(0, maxLen) }));
      const expected = new Float64Array(queries.length * texts.length);
      out.queries.forEach((q, qi) => {
        const tokens = [...q.promptTokens, ...q.completionTokens];
        const gq = flatGradient(model, { tokens, targets: tokens.map((_, j) => (j >= q.promptTokens.length ? 1 : 0)) });
        docGrads.forEach((gd, d) => {
          let dot = 0;
          for (let i = 0; i < gd.length; i++) dot += gq[i] * gd[i];
          expected[qi * texts.length + d] = dot;
        });
      });
      const err = assertRelClose(out.scores, expected, 1e-5, `${what}: identity scores vs autograd dot products`);
      console.log(`# ${what}: identity vs autograd relative error ${err.toExponential(2)} (${queries.length}×${texts.length})`);
    } finally {
      model.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('identity scores equal autograd gradient dot products (stories260K)', { skip: SKIP_NO_SHARED }, async () => {
  const m = await openModel(STORIES260K(), TOK512());
  const texts = readFileSync(fixture('tinystories', 'sample5.txt'), 'utf8')
    .split('<|endoftext|>')
    .map((s) => s.trim())
    .filter(Boolean);
  await checkIdentity(
    m,
    texts,
    [
      { prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' },
      { prompt: 'The dog was very', completion: ' happy and played in the park.' },
    ],
    96,
    'stories260K',
  );
});

test('identity scores equal autograd gradient dot products (GPT-2 with biases)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-gpt2-'));
  try {
    writeHuggingFaceFolder(dir, randomCheckpoint(tinyGpt2Config(), 5));
    writeGpt2TokenizerJson(dir);
    const m = await openModel(dir);
    await checkIdentity(
      m,
      ['The cat sat on the mat.', 'Two plus two is four.', 'def add(a, b): return a + b', 'Paris is the capital of France.'],
      [{ prompt: 'What is the capital of France?', completion: ' Paris' }],
      48,
      'tiny gpt2',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
