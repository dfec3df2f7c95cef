/**
 * The language server's wiring: the connection (stdio, IPC or socket, chosen from argv), the documents it
 * tracks, the settings, the warm state (session/warmState.ts), the job queue, and the handlers of every request
 * (protocol.ts and docs/PROTOCOL.md). Behaviour lives in session/, jobs.ts and handlers/.
 */
import { fileURLToPath } from 'node:url';
import {
  CodeLensRequest,
  createConnection,
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  DidChangeConfigurationNotification,
  ExecuteCommandRequest,
  HoverRequest,
  MessageType,
  ProposedFeatures,
  ShowMessageNotification,
  TextDocuments,
  TextDocumentSyncKind,
  type CancellationToken,
  type ExecuteCommandParams,
  type InitializeParams,
  type InitializeResult,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { describeError, formatInfq, isInfluenceLensError, parseQueries, parseQueryText } from './engine/api';
import { CancelledError, JobQueue, type ProgressSink } from './jobs';
import {
  BackendInfoRequest,
  CONFIGURATION_SECTION,
  ConvertQueriesRequest,
  DocumentInfluenceRequest,
  InfluenceHoverRequest,
  MemoryRequest,
  PanelBatchRequest,
  PanelPageRequest,
  PanelQueryRequest,
  PrepareDemoRequest,
  QueryInfluenceRequest,
  SERVER_COMMANDS,
  StatusNotification,
  TrustNotification,
  type InitializationOptions,
  type StatusParams,
} from './protocol';
import { AnswerStore } from './refs';
import { WarmState, type ProgressHandle, type WarmStateHost } from './session/warmState';
import { createSettingsSource, type SettingsContext, type SettingsSource } from './settings';
import { prepareDemo } from './handlers/demo';
import { documentView } from './handlers/documentView';
import { HoverHandler } from './handlers/hover';
import { isProseFile, paragraphAt } from './handlers/paragraph';
import { scoreSectionLink } from './handlers/readme';
import { JobCommands } from './handlers/jobCommands';
import { ModelWarnings } from './handlers/modelWarnings';
import { documentPath, isQueryFile, QueryFiles } from './handlers/queryFiles';
import { PanelHandler } from './handlers/panel';
import { visibleControls } from './handlers/markdown';

const connection = createConnection(ProposedFeatures.all);
/** The documents open in the editor (prompts, query files). */
const documents = new TextDocuments(TextDocument);

let init: InitializationOptions = {};
let context: SettingsContext = {};
let lastStatus: StatusParams | undefined;

const host: WarmStateHost = {
  status: (params) => {
    const modelChanged = lastStatus?.model?.path !== params.model?.path || lastStatus?.factors?.state !== params.factors?.state;
    lastStatus = params;
    void connection.sendNotification(StatusNotification.type, params).catch(logFailure);
    if (modelChanged) validateAll(); // prompt lengths are checked against the loaded model
    if (params.model) void modelWarnings.check(state.run);
  },
  // The notification, not window.showErrorMessage (a request the client must answer).
  showError: (message) => void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Error, message }).catch(logFailure),
  log: (message) => connection.console.log(visibleControls(message)),
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

let state = new WarmState(host);
const modelWarnings = new ModelWarnings(
  (message) => void connection.sendNotification(ShowMessageNotification.type, { type: MessageType.Warning, message }).catch(logFailure),
  (message) => host.log(message),
);
const answers = new AnswerStore();
const jobs = new JobQueue(() => state.setExtra({ job: jobs.current }));
const queryFiles = () => new QueryFiles(state);
let queries = queryFiles();
let hovers = new HoverHandler(state, answers);
let commands: JobCommands;
let panel = new PanelHandler(state, answers);
let settings: SettingsSource | undefined;
let dynamicConfiguration = false;

connection.onInitialize((params: InitializeParams): InitializeResult => {
  init = (params.initializationOptions ?? {}) as InitializationOptions;
  const folders = (params.workspaceFolders ?? [])
    .map((f) => f.uri)
    .filter((u) => u.startsWith('file:'))
    .map((u) => fileURLToPath(u));
  const root = folders[0] ?? (params.rootUri?.startsWith('file:') ? fileURLToPath(params.rootUri) : undefined);
  context = { baseDir: root, workspaceDirs: root ? [root, ...folders] : folders, trusted: init.trusted !== false };
  state = new WarmState(host, { storageDir: init.storageDir });
  queries = queryFiles();
  hovers = new HoverHandler(state, answers, scoreSectionLink(init.extensionDir));
  panel = new PanelHandler(state, answers);
  commands = new JobCommands(
    state,
    jobs,
    answers,
    init.storageDir,
    (uri) => documents.get(uri)?.getText(),
    (line) => host.log(line),
  );
  state.setExtra({ trusted: context.trusted });
  settings = createSettingsSource(connection, () => context);
  dynamicConfiguration = params.capabilities.workspace?.didChangeConfiguration?.dynamicRegistration === true;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      hoverProvider: true,
      codeLensProvider: { resolveProvider: false },
      executeCommandProvider: { commands: Object.values(SERVER_COMMANDS) },
    },
    serverInfo: { name: 'Influence Lens' },
  };
});

connection.onInitialized(() => {
  // Ask to be told when our section changes; clients without dynamic registration push changes anyway.
  if (dynamicConfiguration) {
    connection.client.register(DidChangeConfigurationNotification.type, { section: CONFIGURATION_SECTION }).catch(logFailure);
  }
  host.status(state.status);
  reload();
});

connection.onDidChangeConfiguration(() => {
  settings?.invalidate();
  reload();
});

connection.onNotification(TrustNotification.type, ({ trusted }) => {
  context = { ...context, trusted };
  state.setExtra({ trusted });
  settings?.invalidate();
  reload();
});

connection.onRequest(BackendInfoRequest.type, () => state.status);

// ---- hovers -----------------------------------------------------------------------------------------------

connection.onRequest(
  InfluenceHoverRequest.type,
  userErrors(
    answerUnlessCancelled(async (params, token) => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc) return null;
      const selected = doc.getText(params.range);
      return hovers.selection(selected, params.range, { file: documentPath(doc.uri), line: params.range.start.line + 1 }, signalOf(token));
    }),
  ),
);

connection.onRequest(
  HoverRequest.type,
  userErrors(
    answerUnlessCancelled(async (params, token) => {
      const doc = documents.get(params.textDocument.uri);
      if (!doc) return null;
      if (!isQueryFile(doc)) {
        // Clients that send the selection (VS Code) get plain hovers on query files only: no influence on every mouse move.
        if (init.selectionHovers || !isProseFile(doc)) return null;
        const paragraph = paragraphAt(doc.getText().split(/\r?\n/), params.position.line);
        if (!paragraph) return null;
        const r = await hovers.selection(
          paragraph.text,
          paragraph.range,
          { file: documentPath(doc.uri), line: paragraph.range.start.line + 1 },
          signalOf(token),
        );
        return r && { contents: { kind: 'markdown', value: r.markdown }, range: r.range };
      }
      const block = queries.blockAt(doc, params.position.line);
      if (!block) return null;
      const range = { start: { line: block.header, character: 0 }, end: { line: block.end, character: 0 } };
      const r = await hovers.query(block.record, range, signalOf(token));
      return r && { contents: { kind: 'markdown', value: r.markdown }, range: r.range };
    }),
  ),
);

connection.onRequest(
  QueryInfluenceRequest.type,
  userErrors(
    answerUnlessCancelled(async (params, token) => {
      const doc = documents.get(params.uri);
      if (!doc) return null;
      const block = queries.blockAt(doc, params.line);
      if (!block) return null;
      return hovers.query(block.record, { start: { line: block.header, character: 0 }, end: { line: block.end, character: 0 } }, signalOf(token));
    }),
  ),
);

// ---- query files ------------------------------------------------------------------------------------------

connection.onRequest(CodeLensRequest.type, (params) => {
  const doc = documents.get(params.textDocument.uri);
  return doc && isQueryFile(doc) ? queries.codeLenses(doc) : [];
});

documents.onDidChangeContent((e) => validate(e.document));
documents.onDidClose((e) => {
  queries.forget(e.document.uri);
  if (isQueryFile(e.document)) void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
});

function validate(doc: TextDocument): void {
  if (!isQueryFile(doc)) return;
  try {
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics: queries.diagnostics(doc) });
  } catch (e) {
    logFailure(e);
  }
}

function validateAll(): void {
  for (const doc of documents.all()) validate(doc);
}

connection.onRequest(
  ConvertQueriesRequest.type,
  userErrors(({ uri, text, to }) => {
    const file = documentPath(uri);
    if (to === 'infq') {
      const records = parseQueries(text, file);
      return { text: formatInfq(records), queries: records.length };
    }
    const records = parseQueryText(text, file);
    const lines = records.map(({ id, prompt, completion, kind, task, answer }) => JSON.stringify({ id, prompt, completion, kind, task, answer }));
    return { text: lines.join('\n') + '\n', queries: records.length };
  }),
);

// ---- jobs -------------------------------------------------------------------------------------------------

connection.onRequest(
  ExecuteCommandRequest.type,
  userErrors(async (params: ExecuteCommandParams, token) => {
    const arg = (params.arguments ?? [])[0] as never;
    switch (params.command) {
      case SERVER_COMMANDS.cancelJob:
        return { cancelled: jobs.cancel((arg as { id?: number } | undefined)?.id) };
      case SERVER_COMMANDS.runBatch:
        return commands.runBatch(arg, await progressFor(params, 'Influence Lens: batch run'), token);
      case SERVER_COMMANDS.fitFactors:
        return commands.fitFactors(await progressFor(params, 'Influence Lens: fitting factors'), token);
      case SERVER_COMMANDS.buildIndex:
        return commands.buildIndex(await progressFor(params, 'Influence Lens: building the index'), token);
      case SERVER_COMMANDS.scoreExactly:
        return commands.scoreExactly(arg, await progressFor(params, 'Influence Lens: exact scoring'), token);
      default:
        throw new Error(`unknown command ${params.command}`);
    }
  }),
);

/** Work-done progress on the client's token, or one the server creates (clients that sent none). */
async function progressFor(params: ExecuteCommandParams, title: string): Promise<ProgressSink> {
  try {
    const reporter =
      params.workDoneToken !== undefined ? connection.window.attachWorkDoneProgress(params.workDoneToken) : await connection.window.createWorkDoneProgress();
    reporter.begin(title, 0, undefined, true);
    return { report: (percentage, message) => reporter.report(percentage === undefined ? 0 : Math.floor(percentage), message), done: () => reporter.done() };
  } catch (e) {
    logFailure(e);
    return { report: () => undefined, done: () => undefined };
  }
}

// ---- document view, demo ----------------------------------------------------------------------------------

connection.onRequest(
  DocumentInfluenceRequest.type,
  userErrors((params, token) => documentView(answers, params, signalOf(token))),
);

connection.onRequest(
  PanelQueryRequest.type,
  userErrors((params, token) => panel.query(params.ref, signalOf(token))),
);
connection.onRequest(
  PanelPageRequest.type,
  userErrors((p, token) => panel.page(p.ref, p.side, p.offset, p.limit, signalOf(token))),
);
connection.onRequest(
  PanelBatchRequest.type,
  userErrors((p, token) => panel.batch(p.results, signalOf(token))),
);

connection.onRequest(MemoryRequest.type, async () => {
  const m = process.memoryUsage();
  const run = state.run;
  const tensors = run ? (await run.pool.broadcast({ kind: 'memory' }, { priority: 'interactive' })).map((r) => r.numTensors) : [];
  return { rssBytes: m.rss, heapUsedBytes: m.heapUsed, tensors };
});

connection.onRequest(
  PrepareDemoRequest.type,
  userErrors((params) => prepareDemo({ extensionDir: init.extensionDir, storageDir: init.storageDir, documents: params?.documents })),
);

connection.onShutdown(async () => {
  jobs.dispose();
  await state.dispose();
});

function reload(): void {
  if (!settings) return;
  void state.apply(settings.get());
}

function signalOf(token: CancellationToken): AbortSignal {
  const abort = new AbortController();
  const stop = () => abort.abort(new CancelledError('the request was cancelled'));
  if (token.isCancellationRequested) stop();
  else token.onCancellationRequested(stop);
  return abort.signal;
}

function logFailure(e: unknown): void {
  connection.console.error(visibleControls(String(e instanceof Error ? (e.stack ?? e.message) : e)));
}

/**
 * A read-only request (a hover) that the client cancelled while it ran answers RequestCancelled even if it
 * finished: the client no longer wants the answer, and tells a cancelled request by that code.
 */
function answerUnlessCancelled<P, R>(handler: (params: P, token: CancellationToken) => Promise<R>): (params: P, token: CancellationToken) => Promise<R> {
  return async (params, token) => {
    const result = await handler(params, token);
    if (token.isCancellationRequested) throw new CancelledError('the request was cancelled');
    return result;
  };
}

/**
 * A request handler whose errors reach the client as one sentence naming the file (and line), and whose
 * cancellation (by the client, by cancelJob, or by a newer hover) is RequestCancelled, as LSP asks.
 */
function userErrors<P, R>(handler: (params: P, token: CancellationToken) => Promise<R> | R): (params: P, token: CancellationToken) => Promise<R> {
  return async (params, token) => {
    try {
      return await handler(params, token);
    } catch (e) {
      if (e instanceof CancelledError || (token.isCancellationRequested && !isInfluenceLensError(e))) {
        throw new ResponseError(LSPErrorCodes.RequestCancelled, e instanceof CancelledError ? e.message : 'the request was cancelled');
      }
      if (!isInfluenceLensError(e)) throw e;
      const { message, error } = describeError(e);
      throw new ResponseError(ErrorCodes.InvalidRequest, visibleControls(message), error);
    }
  };
}

// The server must outlive any single failure: log it and carry on (the engine removes the rethrowing
// handlers that the wasm backend's Emscripten glue installs).
process.on('unhandledRejection', logFailure);
process.on('uncaughtException', logFailure);

documents.listen(connection);
connection.listen();
