/** The built `influence-lens` CLI end to end: generate, loss, and clear errors for bad input. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, copyFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import { referenceLoss } from '../helpers/referenceForward';
import { assertRelClose } from '../helpers/compare';

/** The greedy text upstream llama2.c prints, from the fixture's README. */
function expectedGreedyText(): string {
  const md = readFileSync(fixture('stories260K', 'stories260K.md'), 'utf8');
  const block = md.split('-t 0.0\n')[1];
  return block.slice(0, block.indexOf('```')).trim();
}

/** The first n sentences (ending in . ! or ?, with any closing quote). */
function sentences(text: string, n: number): string {
  const re = /[^.!?]*[.!?]"?/g;
  return (text.match(re) ?? []).slice(0, n).join('');
}

test('generate reproduces llama2.c greedy output of stories260K word for word', { skip: SKIP_NO_SHARED }, async () => {
  const r = await runCli(['generate', '--model', STORIES260K(), '--tokenizer', TOK512(), '--max-tokens', '200']);
  assert.equal(r.code, 0, r.stderr);
  const expected = expectedGreedyText();
  const first = sentences(expected, 3);
  assert.ok(first.length > 100, 'fixture parse found three sentences');
  assert.ok(r.stdout.startsWith(first), `expected to start with:\n${first}\n---\ngot:\n${r.stdout}`);
  // Beyond three sentences: every word of the output matches upstream until 200 tokens run out.
  const got = r.stdout.trim().split(/\s+/);
  const want = expected.split(/\s+/);
  const common = got.slice(0, -1); // the last word may be cut by the token limit
  assert.deepEqual(common, want.slice(0, common.length));
  assert.match(r.stderr, /backend (wasm|cpu|tensorflow)/, 'the backend is reported on stderr');
});

test('generate continues a prompt', { skip: SKIP_NO_SHARED }, async () => {
  const r = await runCli([
    'generate',
    '--model',
    STORIES260K(),
    '--tokenizer',
    TOK512(),
    '--prompt',
    'Once upon a time, there was a dog',
    '--max-tokens',
    '20',
    '--quiet',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(r.stdout.startsWith('Once upon a time, there was a dog'), r.stdout);
  assert.ok(r.stdout.length > 'Once upon a time, there was a dog'.length + 10);
  assert.equal(r.stderr, '');
});

test('--verbose adds the adapter and the default batch size; the usage offers every backend', async () => {
  const help = await runCli(['--help']);
  assert.match(help.stdout, /--backend auto\|tensorflow-gpu\|webgpu\|tensorflow\|wasm\|cpu /);
  const r = await runCli(['generate', '--model', 'demo/model', '--prompt', 'The capital of Peru is', '--max-tokens', '2', '--backend', 'wasm', '--verbose']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /influence-lens: backend wasm \(forced by setting \(wasm\)\), \d+ compute thread\(s\)\n/);
  assert.match(r.stderr, /influence-lens: adapter: none \(not a WebGPU backend\); 8 sequences per batch unless --batch-size\n/);
  const quiet = await runCli(['generate', '--model', 'demo/model', '--prompt', 'The capital of Peru is', '--max-tokens', '2', '--backend', 'wasm']);
  assert.doesNotMatch(quiet.stderr, /adapter:/, 'without --verbose, no adapter line');
});

test('loss prints tokens, sumNats and meanNats that match the reference forward pass', { skip: SKIP_NO_SHARED }, async () => {
  const text = 'Lily saw a big red ball in the park.';
  const r = await runCli(['loss', '--model', STORIES260K(), '--tokenizer', TOK512(), '--text', text, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { tokens: number[]; sumNats: number; meanNats: number };
  assert.equal(out.tokens[0], 1, 'starts with BOS');
  const ref = referenceLoss(loadCheckpoint(STORIES260K()), out.tokens);
  const sum = ref.reduce((a, b) => a + b, 0);
  assertRelClose([out.sumNats, out.meanNats], [sum, sum / ref.length], 1e-5, 'loss');
});

test('bad input gives a clear error and a non-zero exit', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const truncated = join(dir, 'truncated.bin');
  writeFileSync(truncated, readFileSync(STORIES260K()).subarray(0, 400_000));
  const pickle = join(dir, 'model.pt');
  writeFileSync(pickle, Buffer.from([0x80, 0x04, 0x95, 0x00, 0x00]));
  const lonely = join(dir, 'alone');
  mkdirSync(lonely);
  copyFileSync(STORIES260K(), join(lonely, 'model.bin'));
  const cases: [string[], RegExp][] = [
    [['generate', '--model', truncated, '--tokenizer', TOK512()], /truncated\.bin/],
    [['generate', '--model', pickle], /pickle/i],
    [['generate', '--model', join(lonely, 'model.bin')], /missing tokenizer: pass --tokenizer/],
    [['generate', '--model', join(dir, 'nope')], /nope/],
    [['generate', '--model', STORIES260K(), '--tokenizer', TOK512(), '--max-tokens', 'many'], /--max-tokens must be an integer ≥ 1/],
    [['loss', '--model', STORIES260K(), '--tokenizer', TOK512()], /missing --text/],
    [['frobnicate'], /unknown command "frobnicate"/],
    [['generate', '--model', STORIES260K(), '--tokenizer', TOK512(), '--backend', 'tpu'], /unknown backend "tpu"/],
  ];
  for (const [args, message] of cases) {
    const r = await runCli(args);
    assert.notEqual(r.code, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, message, `${args.join(' ')}: ${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `no stack trace for ${args.join(' ')}: ${r.stderr}`);
  }
});
