/**
 * `--model owner/name[@revision]` from the built CLI: a model in the local Hugging Face cache (HF_HOME)
 * computes what its folder computes; one that is not cached is refused with the folder looked in, and
 * nothing is fetched.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';
import { DEMO_MODEL, cacheSnapshot } from '../helpers/hubCache';

const tmp = mkdtempSync(join(tmpdir(), 'il-hub-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const HF_HOME = join(tmp, 'hf');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
cacheSnapshot(HF_HOME, 'acme/tiny-llama', COMMIT, undefined, 'main');
const text = 'The capital of Peru is Lima.';

test('loss from a cached model id, its @revision and its folder are the same', async () => {
  const fromFolder = await runCli(['loss', '--model', DEMO_MODEL, '--text', text, '--backend', 'wasm', '--quiet'], { HF_HOME });
  assert.equal(fromFolder.code, 0, fromFolder.stderr);
  for (const model of ['acme/tiny-llama', 'acme/tiny-llama@main', `acme/tiny-llama@${COMMIT.slice(0, 12)}`]) {
    const r = await runCli(['loss', '--model', model, '--text', text, '--backend', 'wasm', '--quiet'], { HF_HOME });
    assert.equal(r.code, 0, `${model}: ${r.stderr}`);
    assert.deepEqual(JSON.parse(r.stdout), JSON.parse(fromFolder.stdout), model);
  }
});

test('a model id that is not cached is refused, naming the cache folder and how to fetch it', async () => {
  const r = await runCli(['loss', '--model', 'EleutherAI/pythia-160m', '--text', text, '--quiet'], { HF_HOME });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stderr.includes(join(HF_HOME, 'hub', 'models--EleutherAI--pythia-160m')), r.stderr);
  assert.match(r.stderr, /does not download models: fetch it with `huggingface-cli download EleutherAI\/pythia-160m`/);
  const rev = await runCli(['loss', '--model', 'acme/tiny-llama@v9', '--text', text, '--quiet'], { HF_HOME });
  assert.equal(rev.code, 1, rev.stderr);
  assert.match(rev.stderr, /revision v9 is not in the Hugging Face cache .*cached revisions: main, 0123456789ab/);
});
