/**
 * The messages between the extension host (client/src/panel/InfluencePanel.ts) and the panel's script
 * (webview/src/main.ts), as discriminated unions on `type`. Plain JSON only. The HTML report answers the
 * same messages from its inlined data (./host.ts).
 */
import type { BatchView, CardPage, QueryView, Side, StatusParams } from '../../server/src/protocol';

/** Host → webview. */
export type HostToWebview =
  /** The server's state: the panel's empty screen. */
  | { type: 'status'; status: StatusParams }
  /** One query over the whole corpus. */
  | { type: 'showQuery'; view: QueryView }
  /** Two queries side by side (a heatmap cell was opened). */
  | { type: 'showQueries'; views: [QueryView, QueryView] }
  /** A results folder's analyses. */
  | { type: 'showBatch'; view: BatchView }
  /** The answer to 'requestPage'. */
  | { type: 'documentsPage'; page: CardPage }
  /** A document's text shown inside its card (the report's "Open document"; the panel opens an editor instead). */
  | { type: 'documentText'; ref: string; docIndex: number; text: string }
  /** A short line for the user (e.g. "copied", or why a request could not be answered). */
  | { type: 'notice'; message: string; level: 'info' | 'error' };

/** Webview → host. */
export type WebviewToHost =
  /** The script is listening: the host answers with the status (and what to show, if anything). */
  | { type: 'ready' }
  | { type: 'openDocument'; ref: string; docIndex: number }
  | { type: 'copyId'; id: string }
  | { type: 'requestPage'; ref: string; side: Side; offset: number; limit: number }
  | { type: 'openQuery'; ref: string }
  | { type: 'openQueries'; refs: [string, string] }
  /** Open the README's section on what a score means (the panel only). */
  | { type: 'explainScores' };

export type Screen = 'status' | 'batch' | 'query';

/** What the webview keeps with getState/setState, so a hidden or restored panel redraws at once. */
export interface WebviewState {
  status?: StatusParams;
  screen?: Screen;
  batch?: BatchView;
  /** The query view(s) shown: one, or two side by side. */
  queries?: QueryView[];
  /** The page shown per "ref side" (when not the view's first). */
  pages?: Record<string, CardPage>;
  /** The k picked per query ref, and for the batch ('batch'). */
  k?: Record<string, number>;
  /** Figures shown as tables (their ids). */
  tables?: string[];
  /** The batch view's choices: kind of the source chart, relative total influence. */
  sourceKind?: string;
  relative?: boolean;
}
