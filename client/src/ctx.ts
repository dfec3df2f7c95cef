/**
 * The client's lifecycle: the LanguageClient talking to dist/server.js over IPC, the latest server
 * status (published as an event for the status bar and the panel), restart, and disposal.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  LanguageClient,
  State,
  TransportKind,
  type DocumentSelector,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import { StatusNotification, type StatusParams } from '../../server/src/protocol';

/** Languages whose documents hold prompts and queries ('influence-query' is the query-file language). */
const LANGUAGES = ['plaintext', 'markdown', 'jsonl', 'influence-query'];

const DOCUMENT_SELECTOR: DocumentSelector = LANGUAGES.flatMap((language) => [
  { scheme: 'file', language },
  { scheme: 'untitled', language },
]);

export class Ctx implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private current: StatusParams = { state: 'starting', message: 'Starting the Influence Lens server' };
  private readonly statusEmitter = new vscode.EventEmitter<StatusParams>();
  /** Fires with every status the server sends, and when the client itself fails or stops. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly disposables: vscode.Disposable[] = [this.statusEmitter];

  constructor(readonly extensionContext: vscode.ExtensionContext) {}

  get extensionUri(): vscode.Uri {
    return this.extensionContext.extensionUri;
  }

  get status(): StatusParams {
    return this.current;
  }

  /** The running client, or an error naming why there is none (for commands to show). */
  get runningClient(): LanguageClient {
    if (!this.client?.isRunning()) throw new Error('the Influence Lens server is not running (try "Influence Lens: Restart Server")');
    return this.client;
  }

  /** Starts the server; failures become an 'error' status, never a failed activation. */
  async start(): Promise<void> {
    this.client ??= this.createClient();
    this.setStatus({ state: 'starting', message: 'Starting the Influence Lens server' });
    try {
      await this.client.start();
    } catch (e) {
      this.setStatus({ state: 'error', message: `The Influence Lens server failed to start: ${errorMessage(e)}` });
    }
  }

  async restart(): Promise<void> {
    if (!this.client) return this.start();
    this.setStatus({ state: 'starting', message: 'Restarting the Influence Lens server' });
    try {
      await this.client.restart();
    } catch (e) {
      this.setStatus({ state: 'error', message: `The Influence Lens server failed to restart: ${errorMessage(e)}` });
    }
  }

  /** Stops the server (deactivate awaits this). */
  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client?.needsStop()) await client.stop();
  }

  dispose(): void {
    void this.stop();
    for (const d of this.disposables.splice(0)) d.dispose();
  }

  private createClient(): LanguageClient {
    const module = path.join(this.extensionContext.extensionPath, 'dist', 'server.js');
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6009'] } },
    };
    const clientOptions: LanguageClientOptions = { documentSelector: DOCUMENT_SELECTOR };
    const client = new LanguageClient('influenceLens', 'Influence Lens', serverOptions, clientOptions);
    this.disposables.push(
      client.onNotification(StatusNotification.type, (status) => this.setStatus(status)),
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped && this.current.state !== 'error') {
          this.setStatus({ ...this.current, state: 'error', message: 'The Influence Lens server stopped' });
        }
      }),
    );
    return client;
  }

  private setStatus(status: StatusParams): void {
    this.current = status;
    this.statusEmitter.fire(status);
  }
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
