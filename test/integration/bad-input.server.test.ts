/**
 * The language server with bad model paths in its settings: a FIFO (which used to freeze it), a device,
 * a path through a file. Each gives an error status naming the path while the server keeps answering;
 * a good path then loads and shutdown is answered. Batch runs on bad query files (a FIFO, a device, a
 * huge or missing file, bad URIs) are refused naming them, batch folders stay inside storage/results
 * one per file, and cancelled batches and hovers answer RequestCancelled. In an untrusted workspace a
 * model at /ws/..m/ or behind a link into the workspace is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CancellationTokenSource, ErrorCodes, ResponseError, type CancellationToken } from 'vscode-jsonrpc/node';
import { LSPErrorCodes } from 'vscode-languageserver-protocol';
import { readResults } from '../../server/src/engine/results/io';
import { batchFolder } from '../../server/src/handlers/queryFiles';
import { BackendInfoRequest, InfluenceHoverRequest, SERVER_COMMANDS, type BatchResult } from '../../server/src/protocol';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { scratch, writeCorpus } from '../helpers/badInput';
import { changeSettings, initialize, startServer, type Server } from '../helpers/lsp';

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

/** A workspace/executeCommand's error as the client sees it: the LSP error code and the sentence. */
async function commandError(server: Server, command: string, args: unknown[], token?: CancellationToken): Promise<{ code: number; message: string }> {
  const params = { command, arguments: args };
  try {
    await (token
      ? server.connection.sendRequest('workspace/executeCommand', params, token)
      : server.connection.sendRequest('workspace/executeCommand', params));
  } catch (e) {
    assert.ok(e instanceof ResponseError, String(e));
    return { code: e.code, message: e.message };
  }
  assert.fail(`${command} ${JSON.stringify(args)} succeeded`);
}

test(
  'runBatch reads query files with the checked reader; cancelled batches and hovers answer RequestCancelled',
  { skip: SKIP_NO_SHARED, timeout: 300_000 },
  async (t) => {
    const dir = scratch(t, 'il-bad-batch-');
    const storage = join(dir, 'storage');
    const settings = {
      backend: 'wasm',
      workers: 1,
      model: STORIES260K(),
      tokenizer: TOK512(),
      corpus: writeCorpus(dir, 8),
      factors: join(dir, 'factors'),
      maxLength: 32,
      maxNewTokens: 8,
    };
    const server = startServer(settings);
    t.after(() => {
      server.connection.dispose();
      if (server.process.exitCode === null) server.process.kill();
    });
    await initialize(server, { rootUri: pathToFileURL(dir).href, initializationOptions: { storageDir: storage, trusted: true } });
    await server.statuses.next((s) => s.state === 'ready' && s.model !== undefined);
    const batch = (uri: string, token?: CancellationToken) => commandError(server, SERVER_COMMANDS.runBatch, [{ uri }], token);

    await t.test('a FIFO, a device, a huge file, a missing file and bad URIs: InvalidRequest naming each, at once', async () => {
      const fifo = join(dir, 'queries.infq');
      execFileSync('mkfifo', [fifo]);
      const link = join(dir, 'link.infq');
      symlinkSync(fifo, link);
      // A query file linked to a system file (standing in for /etc/shadow): named, none of its bytes shown.
      const system = join(dir, 'system.jsonl');
      symlinkSync('/etc/passwd', system);
      const huge = join(dir, 'huge.infq');
      closeSync(openSync(huge, 'w'));
      truncateSync(huge, 3 * 2 ** 30); // sparse: 3 GiB that take no disk
      // Five at once on the FIFO (each blocked read used to hold one of libuv's four threads for ever).
      const onFifo = await Promise.all(Array.from({ length: 5 }, () => batch(pathToFileURL(fifo).href)));
      for (const e of onFifo) {
        assert.equal(e.code, ErrorCodes.InvalidRequest);
        assert.ok(e.message.includes(fifo) && /FIFO/.test(e.message), e.message);
      }
      const cases: [string, string, RegExp][] = [
        [pathToFileURL(link).href, link, /FIFO/],
        ['file:///dev/zero', '/dev/zero', /character device/],
        [pathToFileURL(huge).href, huge, /3221225472 bytes, more than/],
        [pathToFileURL(join(dir, 'missing.infq')).href, join(dir, 'missing.infq'), /does not exist/],
        ['file://fileserver/share/q.infq', 'file://fileserver/share/q.infq', /on the host "fileserver"; only local files/],
        [`${pathToFileURL(dir).href}/q%00.infq`, `${pathToFileURL(dir).href}/q%00.infq`, /encoded NUL/],
        ['untitled:Untitled-1', 'untitled:Untitled-1', /not a file: URI and no open document/],
        [pathToFileURL(system).href, `${system}:1`, /invalid JSON: unexpected character/],
      ];
      for (const [uri, names, says] of cases) {
        const e = await batch(uri);
        assert.equal(e.code, ErrorCodes.InvalidRequest, `${uri}: ${e.message}`);
        assert.ok(e.message.includes(names) && says.test(e.message), e.message);
        assert.doesNotMatch(e.message, /ENOENT|ERR_|Invalid string length|TypeError|root:/);
      }
      assert.ok(!existsSync(join(storage, 'results')), 'no results folder was started');
      // Still answering, and shutdown would be too (the FIFO holds no thread).
      assert.equal((await server.connection.sendRequest(BackendInfoRequest.type)).state, 'ready');
    });

    const queries = (id: string) => `=== ${id}\n--- prompt\nOnce upon a time, there was a little girl named\n--- completion\n Lily.\n`;
    const results = join(storage, 'results');

    await t.test('after the refusals a good batch runs; folders are named inside storage/results, one per file', async () => {
      await server.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] });
      await server.statuses.next((s) => s.factors?.state === 'ready');
      mkdirSync(join(dir, 'a'));
      mkdirSync(join(dir, 'b'));
      const files = [join(dir, 'a', 'same.infq'), join(dir, 'b', 'same.infq'), join(dir, '..infq'), join(dir, '...infq')];
      const folders: string[] = [];
      for (const [i, f] of files.entries()) {
        writeFileSync(f, queries(`q${i}`));
        const r = (await server.connection.sendRequest('workspace/executeCommand', {
          command: SERVER_COMMANDS.runBatch,
          arguments: [{ uri: pathToFileURL(f).href }],
        })) as BatchResult;
        assert.equal(r.queries, 1);
        assert.equal(dirname(r.results), results, `${f} → ${r.results}`);
        assert.equal(readResults(r.results).results.queries[0].id, `q${i}`);
        folders.push(r.results);
      }
      assert.equal(new Set(folders).size, files.length, `one folder per file: ${folders.join(', ')}`);
      for (const [i, folder] of folders.entries()) assert.equal(readResults(folder).results.queries[0].id, `q${i}`, 'none overwritten');
      assert.deepEqual(readdirSync(storage), ['results'], 'nothing written beside storage/results');
    });

    await t.test('a batch cancelled by the client or by cancelJob, and a cancelled hover: RequestCancelled (-32800)', async () => {
      const file = join(dir, 'long.infq');
      writeFileSync(file, Array.from({ length: 40 }, (_, i) => queries(`long${i}`)).join('\n'));
      const uri = pathToFileURL(file).href;
      for (const how of ['client', 'cancelJob'] as const) {
        const source = new CancellationTokenSource();
        const from = server.statuses.length;
        const refused = batch(uri, source.token);
        await server.statuses.next((s) => s.job !== undefined, from);
        if (how === 'client') source.cancel();
        else await server.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.cancelJob, arguments: [] });
        const e = await refused;
        assert.equal(e.code, LSPErrorCodes.RequestCancelled, `${how}: ${e.message}`);
        assert.match(e.message, /cancel/);
      }
      assert.ok(!existsSync(join(batchFolder(results, file), 'results.json')), 'a cancelled batch leaves no results');

      const doc = pathToFileURL(join(dir, 'prompt.txt')).href;
      await server.connection.sendNotification('textDocument/didOpen', {
        textDocument: { uri: doc, languageId: 'plaintext', version: 1, text: 'Once upon a time, there was a little girl named' },
      });
      const range = { start: { line: 0, character: 0 }, end: { line: 0, character: 47 } };
      const source = new CancellationTokenSource();
      const hover = server.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri: doc }, range }, source.token);
      source.cancel();
      await assert.rejects(hover, (e: unknown) => e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled);
      // The next hover is answered.
      const r = await server.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri: doc }, range });
      assert.ok(r?.answer, r?.markdown);
    });

    await server.connection.sendRequest('shutdown');
    await server.connection.sendNotification('exit');
    assert.equal(await server.exited, 0, server.stderr());
  },
);

test(
  'an untrusted workspace: "/ws/..m/model" and a link from outside into it are refused naming them; a model outside loads',
  { skip: SKIP_NO_SHARED, timeout: 120_000 },
  async (t) => {
    const dir = scratch(t, 'il-bad-trust-');
    const ws = join(dir, 'ws');
    mkdirSync(join(ws, '..m'), { recursive: true });
    const inside = join(ws, '..m', 'model.bin');
    copyFileSync(STORIES260K(), inside);
    const link = join(dir, 'outside-link.bin');
    symlinkSync(inside, link);
    const server = startServer({ backend: 'wasm', workers: 1, model: inside, tokenizer: TOK512() });
    t.after(() => {
      server.connection.dispose();
      if (server.process.exitCode === null) server.process.kill();
    });
    await initialize(server, { rootUri: pathToFileURL(ws).href, initializationOptions: { trusted: false } });
    let from = 0;
    for (const [i, model] of [inside, link].entries()) {
      if (i > 0) from = await changeSettings(server, { backend: 'wasm', workers: 1, model, tokenizer: TOK512() });
      const error = await server.statuses.next((s) => s.state === 'error' && s.message.includes(model), from);
      assert.match(error.message, /not trusted/);
      assert.equal(error.error?.code, 'UNTRUSTED');
      assert.equal(error.model, undefined, 'nothing was loaded');
    }
    from = await changeSettings(server, { backend: 'wasm', workers: 1, model: STORIES260K(), tokenizer: TOK512() });
    const ready = await server.statuses.next((s) => s.state === 'ready' && s.model !== undefined, from);
    assert.equal(ready.model?.architecture, 'llama');
    await server.connection.sendRequest('shutdown');
    await server.connection.sendNotification('exit');
    assert.equal(await server.exited, 0, server.stderr());
  },
);
