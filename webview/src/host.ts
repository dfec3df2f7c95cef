/**
 * Who the script talks to: VS Code (acquireVsCodeApi, in the panel) or, in the HTML report, a shim that
 * answers the same messages from the data inlined in the page (pages from the inlined cards, "Open
 * document" with the document's text, queries from the inlined views). The views never know which.
 */
import type { ReportData } from '../../server/src/protocol';
import type { HostToWebview, WebviewState, WebviewToHost } from './messages';

export interface Host {
  readonly mode: 'panel' | 'report';
  post(message: WebviewToHost): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): void;
}

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): WebviewState;
}

declare function acquireVsCodeApi(): VsCodeApi;

/** The id of the report's `<script type="application/json">` element. */
export const REPORT_DATA_ID = 'influence-lens-report';

export function connectHost(deliver: (message: HostToWebview) => void): Host {
  if (typeof acquireVsCodeApi === 'function') {
    const vscode = acquireVsCodeApi(); // may be called only once per page
    window.addEventListener('message', (event: MessageEvent<HostToWebview>) => deliver(event.data));
    return { mode: 'panel', post: (m) => vscode.postMessage(m), getState: () => vscode.getState(), setState: (s) => void vscode.setState(s) };
  }
  const data = document.getElementById(REPORT_DATA_ID);
  if (!data?.textContent) throw new Error('Influence Lens: neither a VS Code webview nor a report page');
  return reportHost(JSON.parse(data.textContent) as ReportData, deliver);
}

function reportHost(data: ReportData, deliver: (message: HostToWebview) => void): Host {
  let state: WebviewState | undefined;
  // Answers arrive later, like a host's messages do.
  const answer = (m: HostToWebview) => setTimeout(() => deliver(m), 0);
  const view = (ref: string) => {
    const v = data.queries[ref];
    if (!v) answer({ type: 'notice', level: 'error', message: `query ${ref} is not in this report` });
    return v;
  };
  const receive = (m: WebviewToHost): void => {
    switch (m.type) {
      case 'ready':
        if (!state?.screen) answer({ type: 'showBatch', view: data.batch });
        break;
      case 'requestPage': {
        const cards = data.cards[m.ref]?.[m.side] ?? [];
        const offset = Math.max(0, Math.min(m.offset, cards.length));
        const total = data.queries[m.ref]?.[m.side].total ?? cards.length;
        const page = { ref: m.ref, side: m.side, offset, total, available: cards.length, cards: cards.slice(offset, offset + m.limit) };
        answer({ type: 'documentsPage', page });
        break;
      }
      case 'openDocument': {
        const text = data.texts[m.docIndex];
        if (text === undefined) answer({ type: 'notice', level: 'error', message: `the text of document ${m.docIndex} is not in this report` });
        else answer({ type: 'documentText', ref: m.ref, docIndex: m.docIndex, text });
        break;
      }
      case 'copyId': {
        const failed = () => answer({ type: 'notice', level: 'error', message: `Could not copy (select the id on the card instead): ${m.id}` });
        // A page opened from disk may have no clipboard access.
        if (!navigator.clipboard) failed();
        else navigator.clipboard.writeText(m.id).then(() => answer({ type: 'notice', level: 'info', message: `Copied ${m.id}` }), failed);
        break;
      }
      case 'openQuery': {
        const v = view(m.ref);
        if (v) answer({ type: 'showQuery', view: v });
        break;
      }
      case 'openQueries': {
        const [a, b] = [view(m.refs[0]), view(m.refs[1])];
        if (a && b) answer({ type: 'showQueries', views: [a, b] });
        break;
      }
    }
  };
  return { mode: 'report', post: receive, getState: () => state, setState: (s) => void (state = s) };
}
