/**
 * Drives the real language server over stdio with a minimal LSP client (vscode-jsonrpc): it collects
 * the notifications the server sends and answers the requests a client must answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import { CONFIGURATION_SECTION, StatusNotification, type StatusParams } from '../../server/src/protocol';

const ROOT = resolve(__dirname, '..', '..');
/** From source by default; INFLUENCE_LENS_SERVER=dist/server.js runs the same checks on the bundle. */
const SERVER_ARGS = process.env.INFLUENCE_LENS_SERVER
  ? [resolve(ROOT, process.env.INFLUENCE_LENS_SERVER), '--stdio']
  : ['--import', 'tsx', 'server/src/server.ts', '--stdio'];

/** Collects every message of one kind and lets a test wait for the first one (from a cursor) that matches. */
export class Inbox<T> {
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

export interface Server {
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

export function startServer(settings: Record<string, unknown>): Server {
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

export async function changeSettings(server: Server, settings: Record<string, unknown>): Promise<number> {
  const from = server.statuses.length;
  server.settings = settings;
  await server.connection.sendNotification('workspace/didChangeConfiguration', { settings: null });
  return from;
}

/** The initialize handshake of a client that supports configuration and progress. */
export async function initialize(server: Server): Promise<unknown> {
  const init = await server.connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    workspaceFolders: null,
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
      window: { workDoneProgress: true, showMessage: {} },
    },
  });
  await server.connection.sendNotification('initialized', {});
  return init;
}
