/**
 * Models from the local Hugging Face cache: `owner/name[@revision]` resolves to the snapshot that
 * refs/<revision> names in a cache laid out as huggingface_hub lays it out (blobs, symlinked snapshots,
 * refs), loads as the same model as its folder, and an id that is not cached is refused with the folder
 * looked in. The cache is built by the test from the committed demo model.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { hubCacheDir, hubLabel, parseHubReference, resolveModelPath } from '../../server/src/engine/model/hubCache';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { parseSettings } from '../../server/src/settings';
import { DEMO_MODEL as DEMO, cacheSnapshot } from '../helpers/hubCache';

const tmp = mkdtempSync(join(tmpdir(), 'il-hub-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const HF_HOME = join(tmp, 'hf');
const env = { HF_HOME };
const repoDir = join(HF_HOME, 'hub', 'models--acme--tiny-llama');
const MAIN = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
const V1 = 'b'.repeat(8) + 'fedcba9876543210fedcba9876543210';

const mainDir = cacheSnapshot(HF_HOME, 'acme/tiny-llama', MAIN, undefined, 'main');
const v1Dir = cacheSnapshot(HF_HOME, 'acme/tiny-llama', V1, ['config.json']);
writeFileSync(join(repoDir, 'refs', 'v1'), V1 + '\n');
mkdirSync(join(repoDir, 'refs', 'pr'), { recursive: true });
writeFileSync(join(repoDir, 'refs', 'pr', '7'), 'c'.repeat(40));

function refusal(fn: () => unknown): Error & { code: string } {
  try {
    fn();
  } catch (e) {
    assert.ok(isInfluenceLensError(e, 'NOT_FOUND'), String(e));
    return e;
  }
  assert.fail('expected NOT_FOUND');
}

test('repository ids and revisions resolve to their snapshots; paths are left alone', () => {
  assert.equal(resolveModelPath('acme/tiny-llama', env), mainDir);
  assert.equal(resolveModelPath('acme/tiny-llama@main', env), mainDir);
  assert.equal(resolveModelPath('acme/tiny-llama@v1', env), v1Dir);
  assert.equal(resolveModelPath(`acme/tiny-llama@${V1}`, env), v1Dir);
  assert.equal(resolveModelPath(`acme/tiny-llama@${V1.slice(0, 10)}`, env), v1Dir);
  assert.equal(resolveModelPath(DEMO, env), DEMO);
  assert.equal(resolveModelPath('./acme/tiny-llama', env), './acme/tiny-llama');
  assert.equal(parseHubReference('EleutherAI/pythia-160m@refs/pr/1')?.revision, 'refs/pr/1');
  // The status names a cached model by its id and commit, not by `snapshots/<commit>`.
  assert.equal(hubLabel(mainDir), 'acme/tiny-llama@aaaaaaa');
  assert.equal(hubLabel(DEMO), undefined);
  for (const notId of ['a/b/c', '../x/y', 'x/..', 'model.bin', '/abs/x', 'a/b@', 'a/b@../../x']) assert.equal(parseHubReference(notId), undefined, notId);
});

test('what is not cached is refused with where it was looked for, and nothing is downloaded', () => {
  const absent = refusal(() => resolveModelPath('EleutherAI/pythia-160m', env));
  assert.match(
    absent.message,
    /^model EleutherAI\/pythia-160m is neither a folder nor in the Hugging Face cache \(no .*models--EleutherAI--pythia-160m\); Influence Lens does not download models: fetch it with `huggingface-cli download EleutherAI\/pythia-160m`/,
  );
  assert.ok(absent.message.includes(join(HF_HOME, 'hub')));
  const rev = refusal(() => resolveModelPath('acme/tiny-llama@v2', env));
  assert.match(rev.message, /revision v2 is not in the Hugging Face cache .*\(cached revisions: main, pr\/7, v1, a{8}[0-9a-f]+, b{8}[0-9a-f]+\)/);
  const dangling = refusal(() => resolveModelPath('acme/tiny-llama@pr/7', env));
  assert.match(dangling.message, /refs\/pr\/7 names commit c{40}, whose snapshot .* is missing \(an interrupted download\?\)/);
});

test('the cache is where huggingface_hub looks: HF_HUB_CACHE, HF_HOME/hub, XDG_CACHE_HOME/huggingface/hub, ~/.cache/huggingface/hub', () => {
  assert.equal(hubCacheDir({ HF_HUB_CACHE: '/c', HF_HOME: '/h' }), '/c');
  assert.equal(hubCacheDir({ HF_HOME: '/h', XDG_CACHE_HOME: '/x' }), '/h/hub');
  assert.equal(hubCacheDir({ XDG_CACHE_HOME: '/x' }), '/x/huggingface/hub');
  assert.equal(hubCacheDir({}), join(homedir(), '.cache', 'huggingface', 'hub'));
});

test('a cached model loads as its folder does: the same fingerprint keys the same factors', async (t) => {
  const saved = process.env.HF_HOME;
  process.env.HF_HOME = HF_HOME;
  t.after(() => (saved === undefined ? delete process.env.HF_HOME : (process.env.HF_HOME = saved)));
  const cached = await ModelRun.open({ model: 'acme/tiny-llama', backend: 'cpu', workers: 0 });
  t.after(() => cached.dispose());
  const folder = await ModelRun.open({ model: DEMO, backend: 'cpu', workers: 0 });
  t.after(() => folder.dispose());
  assert.equal(cached.options.model, mainDir);
  const [a, b] = [await cached.modelId(), await folder.modelId()];
  assert.equal(a.fingerprint, b.fingerprint);
  assert.equal(a.path, mainDir);
});

test('the model setting keeps a cached id (a workspace folder of that name wins; an id not cached is a path)', (t) => {
  const saved = process.env.HF_HOME;
  process.env.HF_HOME = HF_HOME;
  t.after(() => (saved === undefined ? delete process.env.HF_HOME : (process.env.HF_HOME = saved)));
  const ws = join(tmp, 'ws');
  mkdirSync(ws, { recursive: true });
  assert.equal(parseSettings({ model: 'acme/tiny-llama' }, { baseDir: ws, workspaceDirs: [ws], trusted: true }).model, 'acme/tiny-llama');
  assert.equal(parseSettings({ model: 'acme/tiny-llama@v1' }, { baseDir: ws, workspaceDirs: [ws], trusted: false }).model, 'acme/tiny-llama@v1');
  assert.equal(parseSettings({ model: 'acme/other' }, { baseDir: ws, workspaceDirs: [ws], trusted: true }).model, join(ws, 'acme', 'other'));
  mkdirSync(join(ws, 'acme', 'tiny-llama'), { recursive: true });
  assert.equal(parseSettings({ model: 'acme/tiny-llama' }, { baseDir: ws, workspaceDirs: [ws], trusted: true }).model, join(ws, 'acme', 'tiny-llama'));
});
