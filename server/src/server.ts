/**
 * The language server's wiring: the connection (stdio, IPC or socket, chosen from argv), the documents
 * it tracks, the settings source, the warm Session, and the custom methods of protocol.ts.
 * Behaviour lives in session.ts, settings.ts and (later) handlers/.
 */
import { fileURLToPath } from 'node:url';
import {
  createConnection,
  DidChangeConfigurationNotification,
  MessageType,
  ProposedFeatures,
  ShowMessageNotification,
  TextDocuments,
  TextDocumentSyncKind,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { BackendInfoRequest, CONFIGURATION_SECTION, StatusNotification } from './protocol';
import { Session, type ProgressHandle, type SessionHost } from './session';
import { createSettingsSource, type SettingsSource } from './settings';

const connection = createConnection(ProposedFeatures.all);
/** The query and prompt documents open in the editor (for the hover and code-lens handlers). */
const documents = new TextDocuments(TextDocument);

const host: SessionHost = {
  status: (params) => void connection.sendNotification(StatusNotification.type, params).catch(logFailure),
  // The notification, not window.showErrorMessage (a request the client must answer).
  showError: (message) =>
    void connection
      .sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message })
      .catch(logFailure),
  log: (message) => connection.console.log(message),
  beginProgress: async (title) => {
    const nothing: ProgressHandle = { report: () => undefined, done: () => undefined };
    try {
      const reporter = await connection.window.createWorkDoneProgress();
      reporter.begin(title, undefined, undefined, false);
      return { report: (message) => reporter.report(message), done: () => reporter.done() };
    } catch (e) {
      logFailure(e);
      return nothing;
    }
  },
};
const session = new Session(host);

let settings: SettingsSource | undefined;
let dynamicConfiguration = false;

connection.onInitialize((params: InitializeParams): InitializeResult => {
  settings = createSettingsSource(connection, workspaceDir(params));
  dynamicConfiguration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;
  return {
    capabilities: { textDocumentSync: TextDocumentSyncKind.Incremental },
    serverInfo: { name: 'Influence Lens' },
  };
});

connection.onInitialized(() => {
  // Ask to be told when our section changes; clients without dynamic registration push changes anyway.
  if (dynamicConfiguration) {
    connection.client
      .register(DidChangeConfigurationNotification.type, { section: CONFIGURATION_SECTION })
      .catch(logFailure);
  }
  host.status(session.status);
  reload();
});

connection.onDidChangeConfiguration(() => {
  settings?.invalidate();
  reload();
});

connection.onRequest(BackendInfoRequest.type, () => session.status);

connection.onShutdown(() => session.dispose());

function reload(): void {
  if (!settings) return;
  void session.apply(settings.get());
}

function workspaceDir(params: InitializeParams): string | undefined {
  const uri = params.workspaceFolders?.[0]?.uri ?? params.rootUri ?? undefined;
  if (!uri?.startsWith('file:')) return undefined;
  return fileURLToPath(uri);
}

function logFailure(e: unknown): void {
  connection.console.error(String(e instanceof Error ? (e.stack ?? e.message) : e));
}

// The server must outlive any single failure: log it and carry on (the engine removes the rethrowing
// handlers that the wasm backend's Emscripten glue installs).
process.on('unhandledRejection', logFailure);
process.on('uncaughtException', logFailure);

documents.listen(connection);
connection.listen();
