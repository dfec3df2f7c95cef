/**
 * The messages between the extension host (client/src/panel/InfluencePanel.ts) and the panel's script
 * (webview/src/main.ts), as discriminated unions on `type`. Plain JSON only.
 */
import type { StatusParams } from '../../server/src/protocol';

/** Host → webview. */
export type HostToWebview = { type: 'status'; status: StatusParams };

/** Webview → host. 'ready': the script is listening; the host answers with the current status. */
export type WebviewToHost = { type: 'ready' };

/** What the webview keeps with getState/setState, so a hidden or restored panel redraws at once. */
export interface WebviewState {
  status?: StatusParams;
}
