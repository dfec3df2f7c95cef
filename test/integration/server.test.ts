/**
 * The real language server, spawned from source over stdio, driven by a minimal LSP client:
 * startup status, backendInfo, loading stories260K, a broken model path, and a clean shutdown.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { BackendInfoRequest, CONFIGURATION_SECTION, StatusNotification, type StatusParams } from '../../server/src/protocol';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const ROOT = resolve(__dirname, '..', '..');
/** From source by default; INFLUENCE_LENS_SERVER=dist/server.js runs the same checks on the bundle. */
const SERVER_ARGS = process.env.INFLUENCE_LENS_SERVER
  ? [resolve(ROOT, process.env.INFLUENCE_LENS_SERVER), '--stdio']
  : ['--import', 'tsx', 'server/src/server.ts', '--stdio'];

/** Collects every message of one kind and lets a test wait for the first one (from a cursor) that matches. */
class Inbox<T> {
  private readonly items: T[] = [];
  private readonly waiters: { from: number; match: (t: T) => boolean; resolve: (t: T) => void }[] = [];

  push(item: T): void {
    this.items.push(item);
    for (const w of [...this.waiters]) {
      if (w.match(item)) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve(item);
      }
    }
  }

  get length(): number {
    return this.items.length;
  }

  all(): readonly T[] {
    return this.items;
  }

  /** Resolves with the first item at index >= from that matches, now or when it arrives. */
  next(match: (t: T) => boolean, from = 0): Promise<T> {
    const found = this.items.slice(from).find(match);
    if (found !== undefined) return Promise.resolve(found);
    const arrives = new Promise<T>((resolve) => this.waiters.push({ from, match, resolve }));
    return Promise.race([arrives, this.failed]);
  }

  /** Rejects every wait when the server goes away (keeps the event loop from draining silently). */
  constructor(private readonly failed: Promise<never>) {}
}

interface Server {
  process: ChildProcess;
  connection: MessageConnection;
  statuses: Inbox<StatusParams>;
  messages: Inbox<{ type: number; message: string }>;
  progress: Inbox<{ token: unknown; value: { kind: string } }>;
  exited: Promise<number | null>;
  stderr: () => string;
  /** What the client answers to workspace/configuration for the influenceLens section. */
  settings: Record<string, unknown>;
}

function startServer(settings: Record<string, unknown>): Server {
  const child = spawn(process.execPath, SERVER_ARGS, {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const died = exited.then((code): never => {
    throw new Error(`server exited (code ${code}) while a message was awaited; stderr:\n${stderr}`);
  });
  died.catch(() => undefined); // only waits observe it
  const connection = createMessageConnection(
    new StreamMessageReader(child.stdout!),
    new StreamMessageWriter(child.stdin!),
  );
  const server: Server = {
    process: child,
    connection,
    statuses: new Inbox(died),
    messages: new Inbox(died),
    progress: new Inbox(died),
    exited,
    stderr: () => stderr,
    settings,
  };
  connection.onNotification(StatusNotification.type, (p) => server.statuses.push(p));
  connection.onNotification('window/showMessage', (p: { type: number; message: string }) => server.messages.push(p));
  connection.onNotification('window/logMessage', () => undefined);
  connection.onNotification('$/progress', (p: { token: unknown; value: { kind: string } }) => server.progress.push(p));
  connection.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
    p.items.map((item) => (item.section === CONFIGURATION_SECTION ? server.settings : null)),
  );
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onRequest('client/registerCapability', () => null);
  connection.listen();
  return server;
}

async function changeSettings(server: Server, settings: Record<string, unknown>): Promise<number> {
  const from = server.statuses.length;
  server.settings = settings;
  await server.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  return from;
}

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
    const init = await server.connection.sendRequest('initialize', {
      processId: process.pid,
      rootUri: null,
      workspaceFolders: null,
      capabilities: {
        workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
        window: { workDoneProgress: true, showMessage: {} },
      },
    });
    assert.ok(init, 'initialize answered');
    await server.connection.sendNotification('initialized', {});
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
