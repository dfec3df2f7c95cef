/** The typed settings: defaults, validation with the setting named, paths, and Workspace Trust. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { parseSettings } from '../../server/src/settings';

const ws = '/home/user/project';

test('defaults', () => {
  const s = parseSettings(null);
  assert.deepEqual(
    { backend: s.backend, workers: s.workers, model: s.model, strategy: s.strategy, separator: s.separator, hover: s.hover, damping: s.damping, maxNewTokens: s.maxNewTokens, completion: s.completion },
    { backend: 'auto', workers: 0, model: '', strategy: 'ekfac', separator: '---', hover: { top: 5, bottom: 3, rerank: 3, candidates: 1350 }, damping: null, maxNewTokens: 64, completion: 'firstLine' },
  );
});

test('bad values are refused naming the setting', () => {
  const refused = (raw: unknown, name: string) =>
    assert.throws(() => parseSettings(raw), (e: unknown) => e instanceof InfluenceLensError && e.code === 'SETTINGS' && e.message.includes(`influenceLens.${name}`));
  refused({ workers: -1 }, 'workers');
  refused({ strategy: 'newton' }, 'strategy');
  refused({ hover: { top: 1.5 } }, 'hover.top');
  refused({ damping: -1 }, 'damping');
  refused({ model: 42 }, 'model');
  refused({ backend: 'tpu' }, 'backend');
});

test('paths: relative and ${workspaceFolder} use the first folder; ~ is home', () => {
  const s = parseSettings({ model: 'models/m', corpus: '${workspaceFolder}/c.jsonl', factors: '/abs/f' }, { baseDir: ws, workspaceDirs: [ws], trusted: true });
  assert.equal(s.model, join(ws, 'models/m'));
  assert.equal(s.corpus, join(ws, 'c.jsonl'));
  assert.equal(s.factors, '/abs/f');
});

test('an untrusted workspace: no path inside it is loaded, paths outside are', () => {
  const untrusted = { baseDir: ws, workspaceDirs: [ws], trusted: false };
  for (const model of ['models/m', '${workspaceFolder}/m', `${ws}/m`, ws]) {
    assert.throws(() => parseSettings({ model }, untrusted), (e: unknown) => e instanceof InfluenceLensError && e.code === 'UNTRUSTED' && /not trusted/.test(e.message), model);
  }
  assert.equal(parseSettings({ model: '/opt/models/m', corpus: `${ws}-other/c.jsonl` }, untrusted).model, '/opt/models/m');
  assert.equal(parseSettings({ corpus: `${ws}-other/c.jsonl` }, untrusted).corpus, `${ws}-other/c.jsonl`, 'a sibling folder with the same prefix is outside');
});
