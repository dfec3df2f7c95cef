/**
 * The server's WarmState under a burst of settings changes (issue 21): "Open Demo" used to write the model and
 * then the tokenizer, and the server loaded the demo model with the old llama2.c tokenizer in between, showing
 * an error. A load whose settings were replaced while it ran must end quietly; only the newest settings'
 * failure reaches the user, and apply() resolves once the newest settings are applied. Real models: the
 * committed demo model and stories260K with its tok512.bin.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { WarmState, type WarmStateHost } from '../../server/src/session/warmState';
import { parseSettings, type InfluenceLensSettings } from '../../server/src/settings';
import type { StatusParams } from '../../server/src/protocol';
import { REPO } from '../helpers/cli';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const DEMO_MODEL = join(REPO, 'demo', 'model');

function settings(model: string, tokenizer: string): InfluenceLensSettings {
  return parseSettings({ backend: 'wasm', workers: 1, model, tokenizer });
}

/** A host that records what the user would see; `onLoad` runs when a model load begins. */
function recorder(onLoad: (title: string) => void = () => undefined) {
  const seen = { errors: [] as string[], statuses: [] as StatusParams[], loads: 0, log: [] as string[] };
  const host: WarmStateHost = {
    status: (s) => void seen.statuses.push(s),
    showError: (m) => void seen.errors.push(m),
    log: (m) => void seen.log.push(m),
    beginProgress: async (title) => {
      seen.loads++;
      onLoad(title);
      return { report: () => undefined, done: () => undefined };
    },
  };
  return { host, seen };
}

const sessions: WarmState[] = [];
after(() => Promise.all(sessions.map((s) => s.dispose())));

test('a model load that fails on settings replaced while it ran shows no error; the newest settings end ready', { skip: SKIP_NO_SHARED }, async () => {
  const late: { session?: WarmState } = {};
  let replaced: Promise<void> | undefined;
  // Open Demo's old order: the demo model with the previous (llama2.c) tokenizer, then the tokenizer cleared,
  // which arrives while the first load runs (and fails: tok512.bin is not a tokenizer.json).
  const { host, seen } = recorder(() => {
    replaced ??= late.session!.apply(Promise.resolve(settings(DEMO_MODEL, '')));
  });
  const session = (late.session = new WarmState(host));
  sessions.push(session);
  await session.apply(Promise.resolve(settings(DEMO_MODEL, TOK512())));
  await replaced;
  assert.deepEqual(seen.errors, [], 'no error reached the user');
  assert.ok(
    seen.log.some((l) => /dropped a failure of superseded settings: .*tok512\.bin/.test(l)),
    `the dropped failure is logged:\n${seen.log.join('\n')}`,
  );
  assert.equal(session.status.state, 'ready', session.status.message);
  assert.equal(session.status.model?.path, DEMO_MODEL);
  assert.ok(!seen.statuses.some((s) => s.state === 'error'), 'no error status was published');
});

test('a burst of changes loads only the newest settings, and apply() resolves once they are applied', { skip: SKIP_NO_SHARED }, async () => {
  const { host, seen } = recorder();
  const session = new WarmState(host);
  sessions.push(session);
  const first = session.apply(Promise.resolve(settings(DEMO_MODEL, TOK512())));
  session.apply(Promise.resolve(settings(STORIES260K(), ''))).catch(() => undefined);
  const last = session.apply(Promise.resolve(settings(STORIES260K(), TOK512())));
  await first; // resolves with the newest settings applied, not the first
  assert.equal(session.status.state, 'ready', session.status.message);
  assert.equal(session.status.model?.path, STORIES260K());
  await last;
  assert.equal(seen.loads, 1, 'one model load for the whole burst');
  assert.deepEqual(seen.errors, []);
});

test('switching between two models and back ends ready on each, with no error', { skip: SKIP_NO_SHARED }, async () => {
  const { host, seen } = recorder();
  const session = new WarmState(host);
  sessions.push(session);
  for (const [model, tokenizer] of [
    [STORIES260K(), TOK512()],
    [DEMO_MODEL, ''],
    [STORIES260K(), TOK512()],
  ]) {
    await session.apply(Promise.resolve(settings(model, tokenizer)));
    assert.equal(session.status.state, 'ready', session.status.message);
    assert.equal(session.status.model?.path, model);
  }
  assert.deepEqual(seen.errors, []);
});

test('the newest settings still report their own failure, once', { skip: SKIP_NO_SHARED }, async () => {
  const { host, seen } = recorder();
  const session = new WarmState(host);
  sessions.push(session);
  session.apply(Promise.resolve(settings(STORIES260K(), TOK512()))).catch(() => undefined);
  await session.apply(Promise.resolve(settings(DEMO_MODEL, TOK512())));
  assert.equal(session.status.state, 'error');
  assert.equal(seen.errors.length, 1, seen.errors.join('\n'));
  assert.match(seen.errors[0], /tok512\.bin/);
});
