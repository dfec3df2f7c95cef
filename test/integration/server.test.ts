/**
 * The real language server, spawned from source over stdio, driven by a minimal LSP client:
 * startup status, backendInfo, loading stories260K, a broken model path, and a clean shutdown.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BackendInfoRequest } from '../../server/src/protocol';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { changeSettings, initialize, startServer } from '../helpers/lsp';

test('language server over stdio: status, backendInfo, model loading, errors, shutdown', { timeout: 120000 }, async (t) => {
  const tmp = mkdtempSync(join(tmpdir(), 'influence-lens-server-'));
  const model = SKIP_NO_SHARED ? '' : STORIES260K();
  const server = startServer({ backend: 'wasm', workers: 1, model, tokenizer: SKIP_NO_SHARED ? '' : TOK512() });
  t.after(() => {
    server.connection.dispose();
    if (server.process.exitCode === null) server.process.kill();
    rmSync(tmp, { recursive: true, force: true });
  });

  await t.test('initializes and reaches the ready state on wasm', async () => {
    assert.ok(await initialize(server), 'initialize answered');
    const ready = await Promise.race([
      server.statuses.next((s) => s.state === 'ready'),
      server.statuses.next((s) => s.state === 'error').then((s) => assert.fail(`error status: ${s.message}\n${server.stderr()}`)),
    ]);
    assert.equal(ready.backend?.name, 'wasm');
    assert.match(ready.backend?.reason ?? '', /forced/);
    const info = await server.connection.sendRequest(BackendInfoRequest.type);
    assert.equal(info.state, 'ready');
    assert.equal(info.backend?.name, 'wasm');
  });

  await t.test('loads stories260K and reports it with progress', { skip: SKIP_NO_SHARED }, async () => {
    const ready = await server.statuses.next((s) => s.state === 'ready');
    assert.ok(
      server.statuses.all().some((s) => s.state === 'loading-model' && s.modelPath === model),
      'a loading-model status came first',
    );
    assert.equal(ready.modelPath, model);
    assert.equal(ready.model?.architecture, 'llama');
    assert.equal(ready.model?.format, 'llama2c');
    assert.equal(ready.model?.layers, 5);
    assert.equal(ready.model?.dim, 64);
    assert.ok((ready.model?.parameters ?? 0) > 200_000 && (ready.model?.parameters ?? 0) < 300_000);
    assert.equal(ready.backend?.threads, 1);
    // Messages arrive in order, so the progress was begun and ended before 'ready'.
    const kinds = server.progress.all().map((p) => p.value.kind);
    assert.deepEqual([kinds[0], kinds[kinds.length - 1]], ['begin', 'end']);
  });

  await t.test('a broken model path gives an error status naming the file, and the server lives on', async () => {
    const broken = join(tmp, 'broken-model.bin');
    writeFileSync(broken, 'this is not a checkpoint, only some garbage bytes for the loader');
    const from = await changeSettings(server, { backend: 'wasm', workers: 1, model: broken });
    const error = await server.statuses.next((s) => s.state === 'error', from);
    assert.ok(error.message.includes(broken), `message names the file: ${error.message}`);
    assert.equal(error.error?.file, broken);
    assert.equal(error.error?.code, 'MODEL_FORMAT');
    assert.equal(error.backend?.name, 'wasm');
    const shown = await server.messages.next((m) => m.message.includes(broken));
    assert.equal(shown.type, 1, 'shown as an error message');
    const info = await server.connection.sendRequest(BackendInfoRequest.type);
    assert.equal(info.state, 'error');
    assert.equal(info.modelPath, broken);
  });

  await t.test('recovers when the setting is fixed', async () => {
    const from = await changeSettings(server, { backend: 'wasm', workers: 1, model: '' });
    const ready = await server.statuses.next((s) => s.state === 'ready', from);
    assert.equal(ready.model, undefined);
    assert.equal(ready.backend?.name, 'wasm');
  });

  await t.test('shuts down and exits cleanly', async () => {
    await server.connection.sendRequest('shutdown');
    await server.connection.sendNotification('exit');
    assert.equal(await server.exited, 0, server.stderr());
  });
});
