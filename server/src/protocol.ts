/**
 * Every custom LSP method of Influence Lens, declared once and imported by both the client and the
 * server (documented in docs/PROTOCOL.md). Only plain JSON travels here (never tensors or class
 * instances). This file imports nothing at run time but the protocol's message types, so neither
 * bundle pulls in the other side (or vscode).
 */
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';
import type { AdapterInfo, BackendName } from './common/backends';
import type { Architecture } from './common/models';
import type { BatchView, CardPage, QueryView, Side } from './common/views';

/**
 * The compute backends with their descriptions, and what the `backend` setting offers (auto first): the
 * one list, kept in a module of its own that imports nothing (the engine's compute worker and the CLI
 * use it without this file's protocol library), offered here to the client.
 */
export { BACKENDS, BACKEND_CHOICES, BACKEND_NAMES, type BackendName, type BackendRequest } from './common/backends';

/** The README's section on what a score means (hovers link to it, the panel opens it). */
export { SCORE_SECTION, scoreSectionLine } from './common/scoreMeaning';

/** The settings section both sides exchange through workspace/configuration. */
export const CONFIGURATION_SECTION = 'influenceLens';

/** The language id of query files (*.infq). */
export const QUERY_LANGUAGE = 'influence-queries';

/** The URI scheme of the read-only document views (a corpus document with its token influence). */
export const DOCUMENT_SCHEME = 'influence-document';

export type ServerState = 'starting' | 'ready' | 'loading-model' | 'error';

export interface BackendStatus {
  name: BackendName;
  /** Why this backend: forced by the setting, first choice, or which better ones were unavailable. */
  reason: string;
  /** Compute threads of the warm pool (present once a model is loaded). */
  threads?: number;
  /** The GPU adapter a WebGPU backend runs on (description, vendor, whether it is a software one). */
  adapter?: AdapterInfo;
}

export interface ModelStatus {
  /** The checkpoint file or folder, absolute. */
  path: string;
  format: 'huggingface' | 'llama2c';
  architecture: Architecture;
  /** Number of distinct parameters (tied embeddings counted once). */
  parameters: number;
  layers: number;
  dim: number;
  hiddenDim: number;
  vocabSize: number;
  maxSeqLen: number;
}

/** A problem the user can fix, located where the engine knows it (file, and line for text formats). */
export interface ErrorStatus {
  code: string;
  file?: string;
  line?: number;
}

/** Where an artefact the hovers need stands: absent, being made, loaded, or broken (with why). */
export type ArtefactState = 'none' | 'missing' | 'working' | 'ready' | 'error';

export interface ArtefactStatus {
  state: ArtefactState;
  /** The folder or file (absolute), when one is configured or chosen by default. */
  path?: string;
  /** One sentence: what it holds, or what is wrong, or what to do. */
  detail?: string;
}

/** A background job (batch run, fit, index build). */
export interface JobStatus {
  id: number;
  title: string;
  /** 0–100 when known. */
  percentage?: number;
  message?: string;
}

export interface StatusParams {
  state: ServerState;
  /** One human sentence describing the state (for an error: what went wrong, naming the file). */
  message: string;
  /** Present once a backend is initialised. */
  backend?: BackendStatus;
  /** The configured model path (absolute), also while it loads or when it failed to load. */
  modelPath?: string;
  /** Present once the configured model is loaded. */
  model?: ModelStatus;
  /** Present in the 'error' state. */
  error?: ErrorStatus;
  /** The corpus, factors and index the hovers use. */
  corpus?: ArtefactStatus;
  factors?: ArtefactStatus;
  index?: ArtefactStatus;
  /** The background job running now, if any. */
  job?: JobStatus;
  /** Whether the workspace is trusted (untrusted: nothing is loaded from workspace paths). */
  trusted?: boolean;
}

/** Sent by the server to the client whenever its state changes (starting, loading, ready, error, jobs). */
export namespace StatusNotification {
  export const method = 'influenceLens/status';
  export const type = new NotificationType<StatusParams>(method);
}

/** Sent by the client to the server; answers the current status (the same as the last notification). */
export namespace BackendInfoRequest {
  export const method = 'influenceLens/backendInfo';
  export const type = new RequestType0<StatusParams, void>(method);
}

/** What the client tells the server at start (initializationOptions). */
export interface InitializationOptions {
  /** A folder the server may write caches to (the extension's workspace or global storage). */
  storageDir?: string;
  /** The extension's own folder (the embedded demo model lives there). */
  extensionDir?: string;
  /** Workspace Trust: false means no path inside the workspace may be loaded. */
  trusted?: boolean;
  /**
   * The client sends the selection (influenceLens/hover), so plain textDocument/hover answers on query files
   * only. Without it (other editors), a plain hover in a text or Markdown file answers for the paragraph under
   * the cursor. VS Code's client sets it: VS Code asks for a hover on every mouse move.
   */
  selectionHovers?: boolean;
}

/** Sent by the client when Workspace Trust is granted. */
export namespace TrustNotification {
  export const method = 'influenceLens/trust';
  export const type = new NotificationType<{ trusted: boolean }>(method);
}

// ---- Hovers ------------------------------------------------------------------------------------------

export interface Range {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

/**
 * Sent by the client when the user hovers a selection: the selected text is the prompt (LSP's hover
 * carries no selection). Answers Markdown to show (null: nothing to show, e.g. a blank selection).
 */
export interface InfluenceHoverParams {
  textDocument: { uri: string };
  /** The selection (the prompt, and the completion after a separator line). */
  range: Range;
}

export interface InfluenceHoverResult {
  /** Markdown. Corpus and document text in it is escaped; its only command links are this extension's. */
  markdown: string;
  /** The range the hover is for. */
  range: Range;
  /** The server's id of this answer (for "Show in panel" and "Open document"), when it has one. */
  ref?: string;
  /** The answer as data (for other clients and tests), when there is one. */
  answer?: HoverAnswer;
}

/** The ranked documents of a hover, as plain data. */
export interface HoverAnswer {
  method: 'index' | 'index+rescore' | 'exact';
  completion: string;
  /**
   * The completion's tokens as scored: a generated completion keeps the model's own, which can differ from
   * an encoding of its text (its scores are for these).
   */
  completionTokens: number[];
  generated: boolean;
  nllNats: number;
  promptTokens: number;
  top: HoverDocument[];
  bottom: HoverDocument[];
  totalMs: number;
  /**
   * Where the time went: the prompt (tokens, the greedy completion); the query's gradient, the index scan and
   * the candidates (or the exact pass); the candidates rescored from the index's rescoring tier; the shown
   * documents' exact per-token scores.
   */
  timings: { prepareMs: number; searchMs: number; rescoreMs: number; rerankMs: number };
  /** With an index: candidates from the sketch and from BM25, and their union (each rescored). */
  candidates?: { sketch: number; lexical: number; union: number };
}

export interface HoverDocument {
  /** Corpus index (unique). */
  index: number;
  id: string;
  source: string;
  perNat: number;
  exact: boolean;
}

export namespace InfluenceHoverRequest {
  export const method = 'influenceLens/hover';
  export const type = new RequestType<InfluenceHoverParams, InfluenceHoverResult | null, void>(method);
}

/** The commands a hover's Markdown may link to (the client trusts these and no others). */
export const HOVER_COMMANDS = [
  'influenceLens.showInPanel',
  'influenceLens.openDocument',
  'influenceLens.buildIndex',
  'influenceLens.fitFactors',
  'influenceLens.openDemo',
  'influenceLens.selectModel',
  'influenceLens.selectCorpus',
  'influenceLens.scoreExactly',
  'influenceLens.showOutput',
] as const;

/** Arguments of the hover links: ids the server issued, never text. */
export interface RefArgs {
  ref: string;
}
export interface DocumentArgs {
  ref: string;
  /** The document's corpus index. */
  document: number;
}

// ---- Query files, batch runs, jobs ----------------------------------------------------------------------

/** Server commands (workspace/executeCommand), run as background jobs with work-done progress and cancel. */
export const SERVER_COMMANDS = {
  /** [{uri}]: score every query of a .infq/.jsonl file; answers BatchResult. */
  runBatch: 'influenceLens.server.runBatch',
  /** []: fit the factors for the configured model and corpus. */
  fitFactors: 'influenceLens.server.fitFactors',
  /** []: build the index for the configured model, factors and corpus. */
  buildIndex: 'influenceLens.server.buildIndex',
  /** [{ref}]: score a hover's query exactly against the whole corpus. */
  scoreExactly: 'influenceLens.server.scoreExactly',
  /** [] or [{id}]: cancel the running (or that) background job. */
  cancelJob: 'influenceLens.server.cancelJob',
} as const;

export interface RunBatchArgs {
  uri: string;
}

export interface BatchResult {
  /** The results folder written (results.json, scores.f32, analysis.json). */
  results: string;
  queries: number;
  documents: number;
  /** Queries that could not be scored, with where and why. */
  skipped: { id: string; file: string; line: number; reason: string }[];
  seconds: number;
}

/** A query of a query file, by its line (0-based, any line of its block). */
export interface QueryAtArgs {
  uri: string;
  line: number;
}

/** Sent by the client: the influence of the query at that line, as a hover result (same Markdown). */
export namespace QueryInfluenceRequest {
  export const method = 'influenceLens/queryInfluence';
  export const type = new RequestType<QueryAtArgs, InfluenceHoverResult | null, void>(method);
}

/** Converts a query file's text between JSONL and .infq; errors name file:line. */
export interface ConvertQueriesParams {
  uri: string;
  text: string;
  to: 'infq' | 'jsonl';
}
export namespace ConvertQueriesRequest {
  export const method = 'influenceLens/convertQueries';
  export const type = new RequestType<ConvertQueriesParams, { text: string; queries: number }, void>(method);
}

// ---- Document view ----------------------------------------------------------------------------------------

/** A corpus document with each token's influence on a query (the document view). */
export interface DocumentInfluenceView {
  title: string;
  /** The text shown (the corpus text, or the decoded tokens when the tokenizer is lossy). */
  text: string;
  /** Header lines shown above the text (query, score, legend). */
  header: string[];
  /** Per scored token: its characters in `text` (offsets after the header) and its influence (raw). */
  tokens: { start: number; end: number; value: number }[];
  /** The largest |value| (the colour scale's end). */
  scale: number;
  score: number;
  perNat: number;
}

export namespace DocumentInfluenceRequest {
  export const method = 'influenceLens/documentInfluence';
  export const type = new RequestType<DocumentArgs, DocumentInfluenceView, void>(method);
}

// ---- Diagnostics of the server itself -----------------------------------------------------------------------

/** Memory of the server process and its compute threads (tests and leak hunting). */
export interface MemoryReport {
  rssBytes: number;
  heapUsedBytes: number;
  /** tf.memory().numTensors of each compute thread (the server's own thread when it computes in-process). */
  tensors: number[];
}
export namespace MemoryRequest {
  export const method = 'influenceLens/memory';
  export const type = new RequestType0<MemoryReport, void>(method);
}

// ---- Demo ---------------------------------------------------------------------------------------------------

/** Settings the embedded demo needs (the server writes its corpus into storage first). */
export interface DemoSettings {
  model: string;
  corpus: string;
  factors: string;
  index: string;
  fitMaxDocuments: number;
  maxLength: number;
}
export namespace PrepareDemoRequest {
  export const method = 'influenceLens/prepareDemo';
  export const type = new RequestType<{ documents?: number }, DemoSettings, void>(method);
}

/** The panel's view models (server/src/common/views.ts; engine/report builds them, the webview renders them, the client forwards them). */
export type { BatchQuery, BatchView, CardPage, DocumentCard, HeatmapGroup, QueryView, ReportData, Side, Snippet } from './common/views';

// ---- The panel -------------------------------------------------------------------------------------------------

/** A hover's answer, or a query of a results folder, as the panel's single-query view (ref: server-issued). */
export namespace PanelQueryRequest {
  export const method = 'influenceLens/panel/query';
  export const type = new RequestType<{ ref: string }, QueryView, void>(method);
}

/** A page of a query's document cards, with snippets. */
export namespace PanelPageRequest {
  export const method = 'influenceLens/panel/page';
  export const type = new RequestType<{ ref: string; side: Side; offset: number; limit: number }, CardPage, void>(method);
}

/** A results folder with analysis.json as the panel's batch view (its queries get refs). */
export namespace PanelBatchRequest {
  export const method = 'influenceLens/panel/batch';
  export const type = new RequestType<{ results: string }, BatchView, void>(method);
}
