/**
 * The client's lifecycle: the LanguageClient talking to dist/server.js over IPC (with the selection hover
 * wired in as middleware), the latest server status (an event for the status bar and the panel), restarts
 * after a crash (said in the status), Workspace Trust, and disposal.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  State,
  TransportKind,
  type ErrorHandler,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  HOVER_COMMANDS,
  InfluenceHoverRequest,
  QUERY_LANGUAGE,
  StatusNotification,
  TrustNotification,
  type InfluenceHoverResult,
  type InitializationOptions,
  type StatusParams,
} from '../../server/src/protocol';
import { update, type SettingKey } from './config';

/** Crashes within this window count towards the restart limit. */
const RESTART_WINDOW_MS = 3 * 60_000;
const MAX_RESTARTS = 4;

export class Ctx implements vscode.Disposable {
  private client: LanguageClient | undefined;
  private current: StatusParams = { state: 'starting', message: 'Starting the Influence Lens server' };
  private readonly statusEmitter = new vscode.EventEmitter<StatusParams>();
  /** Fires with every status the server sends, and when the client itself fails or stops. */
  readonly onDidChangeStatus = this.statusEmitter.event;
  private readonly hoverEmitter = new vscode.EventEmitter<void>();
  /** Fires when a hover on a selection has shown ranked documents (the walkthrough's step). */
  readonly onDidAnswerHover = this.hoverEmitter.event;
  private readonly disposables: vscode.Disposable[] = [this.statusEmitter, this.hoverEmitter];
  private crashes: number[] = [];
  /** Set after the server crashed and was restarted: said in the status until the next restart. */
  private restartNote: string | undefined;
  readonly output = vscode.window.createOutputChannel('Influence Lens');
  /** While > 0, settings are being written as one change: the server is told once, afterwards. */
  private settingsBatches = 0;
  private heldConfigurationChange: (() => Promise<void>) | undefined;

  constructor(readonly extensionContext: vscode.ExtensionContext) {
    this.disposables.push(
      this.output,
      vscode.workspace.onDidGrantWorkspaceTrust(() => void this.client?.sendNotification(TrustNotification.type, { trusted: true })),
    );
  }

  get extensionUri(): vscode.Uri {
    return this.extensionContext.extensionUri;
  }

  get status(): StatusParams {
    return this.current;
  }

  /** The server's storage folder (the demo corpus and default caches go there). */
  get storageDir(): string {
    return (this.extensionContext.storageUri ?? this.extensionContext.globalStorageUri).fsPath;
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
    this.restartNote = undefined;
    this.crashes = [];
    if (!this.client) return this.start();
    this.setStatus({ state: 'starting', message: 'Restarting the Influence Lens server' });
    try {
      await this.client.restart();
    } catch (e) {
      this.setStatus({ state: 'error', message: `The Influence Lens server failed to restart: ${errorMessage(e)}` });
    }
  }

  /**
   * Writes several settings as one change for the server. VS Code writes one key at a time and fires an
   * event for each; the server would load the half-written settings (a new model with the old tokenizer).
   * So workspace/didChangeConfiguration is held while they are written and sent once, after the last.
   */
  async updateSettings(values: readonly (readonly [SettingKey, unknown])[], target?: vscode.ConfigurationTarget): Promise<void> {
    this.settingsBatches++;
    try {
      for (const [key, value] of values) await update(key, value, target);
    } finally {
      this.settingsBatches--;
      const held = this.settingsBatches === 0 ? this.heldConfigurationChange : undefined;
      this.heldConfigurationChange = undefined;
      await held?.().catch((e: unknown) => this.output.appendLine(`could not send the settings change: ${errorMessage(e)}`));
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
    const initializationOptions: InitializationOptions = {
      storageDir: this.storageDir,
      extensionDir: this.extensionContext.extensionPath,
      trusted: vscode.workspace.isTrusted,
      // The middleware below sends the selection; plain hovers (every mouse move) must not compute influence.
      selectionHovers: true,
    };
    const clientOptions: LanguageClientOptions = {
      // Any text file: a prompt can be selected anywhere (the server answers hovers only for selections and query files).
      documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
      initializationOptions,
      outputChannel: this.output,
      // Hovers link to this extension's commands and no others (their arguments are server-issued ids).
      markdown: { isTrusted: { enabledCommands: [...HOVER_COMMANDS] }, supportHtml: false },
      errorHandler: this.errorHandler(),
      middleware: {
        workspace: {
          didChangeConfiguration: (sections, next) => {
            if (this.settingsBatches === 0) return next(sections);
            this.heldConfigurationChange = () => next(sections);
            return Promise.resolve();
          },
        },
        provideHover: async (document, position, token, next) => {
          const selection = selectionAt(document, position);
          // Without a selection only query files have a hover: skip the round trip elsewhere.
          if (!selection) return document.languageId === QUERY_LANGUAGE ? next(document, position, token) : null;
          const result = await this.client!.sendRequest(
            InfluenceHoverRequest.type,
            { textDocument: { uri: document.uri.toString() }, range: this.client!.code2ProtocolConverter.asRange(selection) },
            token,
          );
          if (result?.answer) this.hoverEmitter.fire();
          return result ? toHover(result) : null;
        },
      },
    };
    const client = new LanguageClient('influenceLens', 'Influence Lens', serverOptions, clientOptions);
    this.disposables.push(
      client.onNotification(StatusNotification.type, (status) =>
        this.setStatus(this.restartNote ? { ...status, message: `${status.message} (${this.restartNote})` } : status),
      ),
      client.onDidChangeState((e) => {
        if (e.newState === State.Stopped && this.current.state !== 'error') {
          this.setStatus({ ...this.current, state: 'error', message: 'The Influence Lens server stopped' });
        }
      }),
    );
    return client;
  }

  /** Restarts a crashed server (a few times in a short while), and says so in the status. */
  private errorHandler(): ErrorHandler {
    return {
      error: () => ({ action: ErrorAction.Continue }),
      closed: () => {
        const now = Date.now();
        this.crashes = [...this.crashes.filter((t) => now - t < RESTART_WINDOW_MS), now];
        if (this.crashes.length > MAX_RESTARTS) {
          const message = `The Influence Lens server stopped ${this.crashes.length} times in ${RESTART_WINDOW_MS / 60_000} minutes and will not be restarted (see "Influence Lens: Show Output"; "Influence Lens: Restart Server" tries again)`;
          this.setStatus({ ...this.current, state: 'error', message });
          return { action: CloseAction.DoNotRestart, message };
        }
        this.restartNote = `restarted after the server stopped unexpectedly at ${new Date(now).toLocaleTimeString()}`;
        this.setStatus({ ...this.current, state: 'starting', message: 'The Influence Lens server stopped unexpectedly; restarting it' });
        return { action: CloseAction.Restart, handled: true };
      },
    };
  }

  private setStatus(status: StatusParams): void {
    this.current = status;
    this.statusEmitter.fire(status);
  }
}

/** The selection of a visible editor on this document that holds the position (non-empty), if any. */
function selectionAt(document: vscode.TextDocument, position: vscode.Position): vscode.Selection | undefined {
  for (const editor of vscode.window.visibleTextEditors) {
    if (editor.document !== document) continue;
    const s = editor.selections.find((sel) => !sel.isEmpty && sel.contains(position));
    if (s) return s;
  }
  return undefined;
}

function toHover(result: InfluenceHoverResult): vscode.Hover {
  const md = new vscode.MarkdownString(result.markdown);
  md.isTrusted = { enabledCommands: [...HOVER_COMMANDS] };
  md.supportHtml = false;
  const r = result.range;
  return new vscode.Hover(md, new vscode.Range(r.start.line, r.start.character, r.end.line, r.end.character));
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
