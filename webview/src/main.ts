/**
 * The Influence Lens panel's script. It talks to the host only through the messages of messages.ts,
 * keeps what it shows in getState/setState, and builds the DOM with textContent (never innerHTML
 * from data). Later issues add charts/ beside it, fed by more message types.
 */
import type { StatusParams } from '../../server/src/protocol';
import type { HostToWebview, WebviewState, WebviewToHost } from './messages';

interface VsCodeApi {
  postMessage(message: WebviewToHost): void;
  getState(): WebviewState | undefined;
  setState(state: WebviewState): WebviewState;
}

declare function acquireVsCodeApi(): VsCodeApi;

const vscode = acquireVsCodeApi(); // may be called only once per page
let state: WebviewState = vscode.getState() ?? {};

const STATE_LABELS: Record<StatusParams['state'], string> = {
  starting: 'Starting',
  'loading-model': 'Loading model',
  ready: 'Ready',
  error: 'Error',
};

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function statusSection(status: StatusParams | undefined): HTMLElement {
  const section = el('section', 'status');
  const header = el('header', 'status-header');
  header.append(el('h2', undefined, 'Influence Lens'));
  const stateName = status?.state ?? 'starting';
  header.append(el('span', `badge state-${stateName}`, STATE_LABELS[stateName]));
  section.append(header);
  section.append(el('p', stateName === 'error' ? 'message error' : 'message', status?.message ?? 'Waiting for the server…'));
  if (!status) return section;

  const rows: [string, string][] = [];
  if (status.backend) {
    rows.push(['Backend', status.backend.name], ['Why', status.backend.reason]);
    if (status.backend.threads) rows.push(['Compute threads', String(status.backend.threads)]);
  }
  if (status.model) {
    const m = status.model;
    rows.push(
      ['Model', m.path],
      ['Architecture', `${m.architecture} (${m.format})`],
      ['Parameters', m.parameters.toLocaleString('en-US')],
      ['Shape', `${m.layers} layers · d_model ${m.dim} · MLP ${m.hiddenDim} · vocab ${m.vocabSize} · context ${m.maxSeqLen}`],
    );
  } else {
    rows.push(['Model', status.modelPath ? `${status.modelPath} (not loaded)` : 'none (set influenceLens.model)']);
  }
  if (status.error?.file) {
    rows.push(['File', status.error.line === undefined ? status.error.file : `${status.error.file}:${status.error.line}`]);
  }
  const list = el('dl', 'facts');
  for (const [term, value] of rows) list.append(el('dt', undefined, term), el('dd', undefined, value));
  section.append(list);
  return section;
}

function render(): void {
  const app = document.getElementById('app');
  if (!app) return;
  app.replaceChildren(statusSection(state.status));
}

function receive(message: HostToWebview): void {
  switch (message.type) {
    case 'status':
      state = { ...state, status: message.status };
      vscode.setState(state);
      render();
      break;
    default: {
      const unknown: never = message.type;
      console.warn('Influence Lens: unknown message', unknown);
    }
  }
}

window.addEventListener('message', (event: MessageEvent<HostToWebview>) => receive(event.data));
render();
vscode.postMessage({ type: 'ready' });
