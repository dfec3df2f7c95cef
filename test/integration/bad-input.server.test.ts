/**
 * The language server with bad model paths in its settings: a FIFO (which used to freeze it), a device,
 * a path through a file. Each gives an error status naming the path while the server keeps answering;
 * a good path then loads and shutdown is answered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BackendInfoRequest } from '../../server/src/protocol';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { scratch } from '../helpers/badInput';
import { changeSettings, initialize, startServer } from '../helpers/lsp';

test('bad model paths leave the language server responsive', { skip: SKIP_NO_SHARED, timeout: 120_000 }, async (t) => {
  const dir = scratch(t, 'il-bad-server-');
  const fifo = join(dir, 'model.bin');
  execFileSync('mkfifo', [fifo]);
  const file = join(dir, 'plain.txt');
  writeFileSync(file, 'not a folder');
  const server = startServer({ backend: 'wasm', workers: 1, model: fifo });
  t.after(() => {
    server.connection.dispose();
    if (server.process.exitCode === null) server.process.kill();
  });
  await initialize(server);

  const cases: [string, string][] = [
    [fifo, 'FIFO'],
    ['/dev/zero', 'character device'],
    [join(file, 'model.bin'), join(file, 'model.bin')],
  ];
  let from = 0;
  for (const [i, [model, says]] of cases.entries()) {
    if (i > 0) from = await changeSettings(server, { backend: 'wasm', workers: 1, model });
    const error = await server.statuses.next((s) => s.state === 'error' && s.modelPath === model, from);
    assert.ok(error.message.includes(model) && error.message.includes(says), error.message);
    assert.equal(error.error?.file, model);
    // Still answering requests while in the error state.
    const info = await server.connection.sendRequest(BackendInfoRequest.type);
    assert.equal(info.state, 'error');
    assert.equal(info.modelPath, model);
  }

  from = await changeSettings(server, { backend: 'wasm', workers: 1, model: STORIES260K(), tokenizer: TOK512() });
  const ready = await server.statuses.next((s) => s.state === 'ready', from);
  assert.equal(ready.model?.architecture, 'llama');

  await server.connection.sendRequest('shutdown');
  await server.connection.sendNotification('exit');
  assert.equal(await server.exited, 0, server.stderr());
});
