/**
 * A real LSP peer for tests: spawns the language server (from source over stdio, or the bundle named by
 * INFLUENCE_LENS_SERVER) and talks to it with vscode-jsonrpc, collecting what it sends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
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
  progress: Inbox<{ token: unknown; value: { kind: string; percentage?: number; message?: string } }>;
  diagnostics: Inbox<{
    uri: string;
    diagnostics: { range: { start: { line: number; character: number }; end: { line: number; character: number } }; code?: string; message: string }[];
  }>;
  exited: Promise<number | null>;
  stderr: () => string;
  /** window/logMessage lines, for explaining a failed wait. */
  logs: string[];
  /** What the client answers to workspace/configuration for the influenceLens section. */
  settings: Record<string, unknown>;
}

export function startServer(settings: Record<string, unknown>, o: { env?: NodeJS.ProcessEnv } = {}): Server {
  const child = spawn(process.execPath, ['--expose-gc', ...SERVER_ARGS], {
    cwd: ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...o.env },
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const died = exited.then((code): never => {
    throw new Error(`server exited (code ${code}) while a message was awaited; stderr:\n${stderr}`);
  });
  died.catch(() => undefined); // only waits observe it
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const server: Server = {
    process: child,
    connection,
    statuses: new Inbox(died),
    messages: new Inbox(died),
    progress: new Inbox(died),
    diagnostics: new Inbox(died),
    exited,
    stderr: () => stderr,
    logs: [],
    settings,
  };
  connection.onNotification(StatusNotification.type, (p) => server.statuses.push(p));
  connection.onNotification('window/showMessage', (p: { type: number; message: string }) => server.messages.push(p));
  connection.onNotification('window/logMessage', (p: { message: string }) => server.logs.push(p.message));
  connection.onNotification('$/progress', (p: { token: unknown; value: { kind: string } }) => server.progress.push(p));
  connection.onNotification('textDocument/publishDiagnostics', (p: Server['diagnostics'] extends Inbox<infer D> ? D : never) => server.diagnostics.push(p));
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

/** initialize + initialized, with the capabilities a full client announces. */
export async function initialize(server: Server, o: { rootUri?: string | null; initializationOptions?: unknown } = {}): Promise<unknown> {
  const result = await server.connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: o.rootUri ?? null,
    workspaceFolders: o.rootUri ? [{ uri: o.rootUri, name: 'workspace' }] : null,
    initializationOptions: o.initializationOptions,
    capabilities: {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: false } },
      window: { workDoneProgress: true, showMessage: {} },
      textDocument: { hover: { contentFormat: ['markdown'] }, codeLens: {}, publishDiagnostics: {} },
    },
  });
  await server.connection.sendNotification('initialized', {});
  return result;
}
