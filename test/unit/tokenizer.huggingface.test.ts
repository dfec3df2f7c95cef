import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode as gpt3Encode } from 'gpt-3-encoder';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { loadHuggingFaceTokenizer } from '../../server/src/engine/tokenizer/huggingface';
import { loadTokenizer } from '../../server/src/engine/tokenizer/load';
import { GPT2_EOT_ID, writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { writeLlamaStyleTokenizer } from '../helpers/llamaTokenizer';

const dir = mkdtempSync(join(tmpdir(), 'il-gpt2-'));
writeGpt2TokenizerJson(dir);
const gpt2 = loadHuggingFaceTokenizer(dir);

const TEXTS = [
  'Hello world',
  "don't I'm we'll they've she's it'd you're",
  'numbers 1234567890 and 3.14159, 1,000,000',
  'café naïve résumé Ωμέγα 日本語 中文',
  'emoji 😀 👍🏽 🇫🇷',
  'multiple   spaces    here',
  'line one\nline two\n\n\nline five\n',
  '\ttabs\tand\r\nwindows lines',
  ' leading space',
  'trailing spaces   ',
  'Punctuation!?;: (parens) [brackets] {braces} "quotes" \'single\' -- dashes...',
  'Once upon a time, there was a little girl named Lily. She loved to play outside.',
];

function isError(code: string, ...mentions: string[]) {
  return (e: unknown) => e instanceof InfluenceLensError && e.code === code && mentions.every((m) => e.message.includes(m));
}

test('GPT-2 encode matches gpt-3-encoder (an independent implementation)', () => {
  for (const text of TEXTS) assert.deepEqual(gpt2.encode(text), gpt3Encode(text), JSON.stringify(text));
  assert.deepEqual(gpt2.encode(''), []);
});

test('GPT-2 decode round trips, also after a previous token', () => {
  for (const text of TEXTS) {
    const ids = gpt2.encode(text);
    assert.equal(gpt2.decode(ids), text);
    assert.equal(gpt2.decode(ids, GPT2_EOT_ID), text);
  }
  assert.equal(gpt2.decode([]), '');
  // Piece by piece concatenates back (no cleanup of spaces before punctuation).
  const ids = gpt2.encode('Hi , there .');
  assert.equal(ids.map((id, i) => gpt2.decode([id], i > 0 ? ids[i - 1] : undefined)).join(''), 'Hi , there .');
});

test('GPT-2 metadata: no BOS added, <|endoftext|> is BOS and EOS', () => {
  assert.equal(gpt2.kind, 'huggingface');
  assert.equal(gpt2.vocabSize, 50257);
  assert.equal(gpt2.bosId, GPT2_EOT_ID);
  assert.equal(gpt2.eosId, GPT2_EOT_ID);
  assert.notEqual(gpt2.encode('Hello')[0], GPT2_EOT_ID);
});

test('without tokenizer_config.json, BOS/EOS come from well-known added tokens', () => {
  const bare = mkdtempSync(join(tmpdir(), 'il-gpt2-'));
  writeGpt2TokenizerJson(bare);
  rmSync(join(bare, 'tokenizer_config.json'));
  const tok = loadHuggingFaceTokenizer(join(bare, 'tokenizer.json'));
  assert.equal(tok.bosId, GPT2_EOT_ID);
  assert.equal(tok.eosId, GPT2_EOT_ID);
});

test('loadTokenizer takes the model folder, a tokenizer folder or a tokenizer.json', async () => {
  for (const opts of [
    { modelPath: dir },
    { modelPath: '/nowhere', tokenizerPath: dir },
    { modelPath: '/nowhere', tokenizerPath: join(dir, 'tokenizer.json') },
  ]) {
    const tok = await loadTokenizer({ ...opts, vocabSize: 50257, format: 'huggingface' });
    assert.deepEqual(tok.encode('Hello world'), [15496, 995]);
  }
});

test('missing or malformed tokenizer.json is a clear error naming the file', () => {
  const empty = mkdtempSync(join(tmpdir(), 'il-hf-'));
  assert.throws(() => loadHuggingFaceTokenizer(empty), isError('NOT_FOUND', join(empty, 'tokenizer.json')));
  const bad = mkdtempSync(join(tmpdir(), 'il-hf-'));
  writeFileSync(join(bad, 'tokenizer.json'), '{"model": {"type": "BPE", ');
  assert.throws(() => loadHuggingFaceTokenizer(bad), isError('MODEL_FORMAT', join(bad, 'tokenizer.json')));
  writeFileSync(join(bad, 'tokenizer.json'), '{"version": "1.0"}');
  assert.throws(() => loadHuggingFaceTokenizer(bad), isError('MODEL_FORMAT', join(bad, 'tokenizer.json'), '"model"'));
  writeFileSync(join(bad, 'tokenizer.json'), '{"model": {"type": "Nonsense"}}');
  assert.throws(() => loadHuggingFaceTokenizer(bad), isError('MODEL_FORMAT', join(bad, 'tokenizer.json')));
});

test('a Llama-style tokenizer decodes a completion as its own decoder does (Strip drops the leading space) and the text encodes back to the same tokens', () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-llama-tok-'));
  try {
    writeLlamaStyleTokenizer(dir);
    const tok = loadHuggingFaceTokenizer(dir);
    const prompt = tok.encode('The capital is');
    const completion = tok.encode('Paris');
    // transformers: tokenizer.decode(completion_ids) == "Paris" (the Strip decoder removes the "▁" → " ").
    assert.equal(tok.decode(completion, prompt[prompt.length - 1]), 'Paris');
    assert.equal(tok.decode(completion), 'Paris');
    assert.deepEqual(tok.encode(tok.decode(completion)), completion);
    assert.equal(tok.decode([...prompt, ...completion]), 'The capital is Paris');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
