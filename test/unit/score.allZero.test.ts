/**
 * A scoring run whose every score is 0 says so: "warning: every score is 0 …; the rankings mean nothing"
 * (naming --damping when one was given), and a run with real scores does not. Every score is exactly 0 for
 * a model whose output layer is all zeros: no gradient reaches any tracked linear. Real parts: a small
 * random Llama checkpoint (llama2.c format, character tokenizer), factors fitted on it, the scoring run.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeLlama2cV1 } from '../../server/src/engine/model/llama2c';
import { openFactorSet } from '../../server/src/engine/runs/factors';
import { runFit } from '../../server/src/engine/runs/fit';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { runScore } from '../../server/src/engine/runs/score';
import { CHAR_VOCAB_SIZE, writeCharTokenizer } from '../helpers/charTokenizer';
import { queryRecords, tempDirs } from '../helpers/influence';
import { randomCheckpoint, tinyLlamaConfig } from '../helpers/randomCheckpoint';

const { tmp, cleanup } = tempDirs('il-all-zero-');
after(cleanup);

const WARNING =
  /^warning: every score is 0 \(--damping 0\.001 may be too large for these gradients: every score underflowed to 0\); the rankings mean nothing$/;
// Only the character tokenizer's characters: lower case, space, '.' and ','.
const QUERY = queryRecords([{ prompt: 'lily had a', completion: ' red ball.' }]);

let corpus: string;
let tokenizer: string;
let model: string;
let zeroHead: string;

before(() => {
  const dir = tmp();
  corpus = join(dir, 'corpus.jsonl');
  const texts = [
    'lily had a red ball.',
    'tom saw a big dog in the park.',
    'the sun was warm, the sky was blue.',
    'mia liked to sing.',
    'a cat sat on the mat.',
    'ben ate an apple.',
  ];
  writeFileSync(corpus, texts.map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n') + '\n');
  tokenizer = writeCharTokenizer(join(dir, 'tok.bin'));
  // An output layer of its own (untied), which the second model has all zeros.
  const checkpoint = randomCheckpoint(tinyLlamaConfig({ vocabSize: CHAR_VOCAB_SIZE }), 7, 1, { tied: false });
  model = join(dir, 'model.bin');
  writeLlama2cV1(model, checkpoint);
  const weights = new Map(checkpoint.weights);
  const head = weights.get('lm_head')!;
  weights.set('lm_head', { shape: head.shape, data: new Float32Array(head.data.length) });
  zeroHead = join(dir, 'zero-head.bin');
  writeLlama2cV1(zeroHead, { ...checkpoint, weights });
});

/** fit then score with `damping`; the lines the run logged and its scores. */
async function fitAndScore(path: string, damping: number): Promise<{ log: string[]; scores: Float32Array }> {
  const out = tmp();
  const run = await ModelRun.open({ model: path, tokenizer, backend: 'wasm', workers: 1 });
  try {
    await runFit(run, { corpus: { path: corpus }, out: join(out, 'factors'), maxLen: 32 });
    const factors = await openFactorSet(run, join(out, 'factors'));
    const log: string[] = [];
    const r = await runScore(run, factors, { corpus: { path: corpus }, queries: QUERY, damping }, { log: (line) => log.push(line) });
    return { log, scores: r.scores };
  } finally {
    run.dispose();
  }
}

test('every score 0 (a model whose output layer is zero) is a warning naming --damping; real scores give none', { timeout: 300_000 }, async () => {
  const zero = await fitAndScore(zeroHead, 1e-3);
  assert.ok(zero.scores.length > 0 && zero.scores.every((x) => x === 0), 'every score is exactly 0');
  assert.equal(zero.log.filter((l) => WARNING.test(l)).length, 1, zero.log.join('\n'));

  const real = await fitAndScore(model, 1e-3);
  assert.ok(real.scores.some((x) => x !== 0));
  assert.ok(!real.log.some((l) => l.includes('every score is 0')), real.log.join('\n'));
});
