/** The typed settings: defaults, validation with the setting named, paths, and Workspace Trust. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { parseSettings } from '../../server/src/settings';

const ws = '/home/user/project';

test('defaults', () => {
  const s = parseSettings(null);
  assert.deepEqual(
    {
      backend: s.backend,
      workers: s.workers,
      model: s.model,
      strategy: s.strategy,
      separator: s.separator,
      hover: s.hover,
      damping: s.damping,
      maxNewTokens: s.maxNewTokens,
      completion: s.completion,
    },
    {
      backend: 'auto',
      workers: 0,
      model: '',
      strategy: 'ekfac',
      separator: '---',
      hover: { top: 5, bottom: 3, rerank: 3, candidates: 1350 },
      damping: null,
      maxNewTokens: 64,
      completion: 'firstLine',
    },
  );
});

test('bad values are refused naming the setting', () => {
  const refused = (raw: unknown, name: string) =>
    assert.throws(
      () => parseSettings(raw),
      (e: unknown) => e instanceof InfluenceLensError && e.code === 'SETTINGS' && e.message.includes(`influenceLens.${name}`),
    );
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
    assert.throws(
      () => parseSettings({ model }, untrusted),
      (e: unknown) => e instanceof InfluenceLensError && e.code === 'UNTRUSTED' && /not trusted/.test(e.message),
      model,
    );
  }
  assert.equal(parseSettings({ model: '/opt/models/m', corpus: `${ws}-other/c.jsonl` }, untrusted).model, '/opt/models/m');
  assert.equal(parseSettings({ corpus: `${ws}-other/c.jsonl` }, untrusted).corpus, `${ws}-other/c.jsonl`, 'a sibling folder with the same prefix is outside');
});

test('an untrusted workspace: "/ws/..m" is inside; links into it (from outside, or dangling) are refused', (t) => {
  const root = mkdtempSync(join(tmpdir(), 'il-trust-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const project = join(root, 'ws');
  const outside = join(root, 'outside');
  mkdirSync(join(project, '..m'), { recursive: true });
  mkdirSync(outside);
  writeFileSync(join(project, '..m', 'model.bin'), 'x');
  symlinkSync(join(project, '..m'), join(outside, 'link'));
  symlinkSync(join(project, 'later.bin'), join(outside, 'dangling.bin'));
  symlinkSync(root, join(outside, 'up'));
  const untrusted = { baseDir: project, workspaceDirs: [project], trusted: false };
  const refused = (model: string, says: RegExp) =>
    assert.throws(
      () => parseSettings({ model }, untrusted),
      (e: unknown) => e instanceof InfluenceLensError && e.code === 'UNTRUSTED' && e.message.includes(model) && says.test(e.message),
      model,
    );
  refused(join(project, '..m', 'model.bin'), /is inside the workspace/);
  refused(join(outside, 'link', 'model.bin'), /leads into the workspace/);
  refused(join(outside, 'dangling.bin'), /leads into the workspace/);
  refused(join(outside, 'up', 'ws', 'x.bin'), /leads into the workspace/);
  // Paths that only look alike stay loadable, and a workspace reached through a link is still the workspace.
  writeFileSync(join(outside, 'model.bin'), 'x');
  assert.equal(parseSettings({ model: join(outside, 'model.bin') }, untrusted).model, join(outside, 'model.bin'));
  assert.equal(parseSettings({ model: join(root, 'ws..m', 'model.bin') }, untrusted).model, join(root, 'ws..m', 'model.bin'));
  const viaLink = { baseDir: join(outside, 'up', 'ws'), workspaceDirs: [join(outside, 'up', 'ws')], trusted: false };
  assert.throws(() => parseSettings({ model: join(project, '..m', 'model.bin') }, viaLink), /not trusted/);
});
