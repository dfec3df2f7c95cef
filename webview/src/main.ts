/**
 * The Influence Lens panel's script, and the HTML report's: it renders the view models (engine/report)
 * it is sent, keeps what it shows in getState/setState (a hidden or restored panel redraws at once), and
 * talks to its host only through the messages of messages.ts (./host.ts: VS Code, or the report's shim).
 * The DOM is built with textContent and text nodes, never innerHTML from data.
 */
import { applyTheme, destroyCharts } from './charts/setup';
import { button, el, select } from './dom';
import { connectHost, type Host } from './host';
import type { HostToWebview, WebviewState } from './messages';
import { readTheme, type Theme } from './theme';
import { batchView } from './views/batch';
import { pageKey, showDocumentText, showPage } from './views/cards';
import type { View } from './views/context';
import { queryView } from './views/query';
import { statusSection } from './views/status';

let state: WebviewState = {};
let theme: Theme;
let mounts: (() => void)[] = [];
let renders = 0;
const notice = el('p', 'notice');
notice.setAttribute('role', 'status');

const host: Host = connectHost(receive);
state = host.getState() ?? {};

const view: View = {
  get theme() {
    return theme;
  },
  host,
  get state() {
    return state;
  },
  update(patch) {
    state = { ...state, ...patch };
    host.setState(state);
  },
  afterMount: (fn) => void mounts.push(fn),
  flushMounts() {
    const run = mounts;
    mounts = [];
    for (const fn of run) fn();
  },
  isTable: (id) => state.tables?.includes(id) ?? false,
  setTable(id, shown) {
    const tables = new Set(state.tables ?? []);
    if (shown) tables.add(id);
    else tables.delete(id);
    view.update({ tables: [...tables] });
  },
  rerender: () => render(),
};

function navigation(): HTMLElement | undefined {
  if (state.screen !== 'query' || !state.batch) return undefined;
  const nav = el('nav', 'breadcrumbs');
  nav.append(button('← Batch analyses', () => show({ screen: 'batch' }), 'button secondary'));
  return nav;
}

/** The report's theme choice (the panel follows VS Code's). */
function reportToolbar(): HTMLElement | undefined {
  if (host.mode !== 'report') return undefined;
  const bar = el('div', 'report-toolbar');
  const current = (['vscode-light', 'vscode-dark', 'vscode-high-contrast'] as const).find((c) => document.body.classList.contains(c)) ?? 'vscode-light';
  bar.append(
    el('span', 'brand', 'Influence Lens report'),
    select(
      'Theme',
      [
        { value: 'vscode-light', label: 'Light' },
        { value: 'vscode-dark', label: 'Dark' },
        { value: 'vscode-high-contrast', label: 'High contrast' },
      ],
      current,
      (c) => setBodyTheme(c),
      'report-theme',
    ),
  );
  return bar;
}

function setBodyTheme(className: string): void {
  document.body.classList.remove('vscode-light', 'vscode-dark', 'vscode-high-contrast');
  document.body.classList.add(className);
}

function content(): HTMLElement {
  switch (state.screen) {
    case 'batch':
      if (state.batch) return batchView(state.batch, view);
      break;
    case 'query':
      if (state.queries?.length) {
        const wrap = el('div', state.queries.length > 1 ? 'compare' : 'single');
        for (const q of state.queries) wrap.append(queryView(q, view));
        return wrap;
      }
      break;
  }
  return statusSection(state.status);
}

function render(): void {
  const app = document.getElementById('app');
  if (!app) return;
  const focused = document.activeElement?.id;
  destroyCharts();
  mounts = [];
  theme = readTheme();
  applyTheme(theme);
  const parts = [reportToolbar(), navigation(), notice, content()].filter((x): x is HTMLElement => x !== undefined);
  app.replaceChildren(...parts);
  view.flushMounts();
  if (focused) document.getElementById(focused)?.focus();
  document.body.dataset.screen = state.screen ?? 'status';
  document.body.dataset.renders = String(++renders);
}

function show(patch: Partial<WebviewState>): void {
  view.update(patch);
  notice.textContent = '';
  render();
  window.scrollTo(0, 0);
}

function receive(message: HostToWebview): void {
  switch (message.type) {
    case 'status':
      view.update({ status: message.status });
      if ((state.screen ?? 'status') === 'status') render();
      break;
    case 'showQuery':
      show({ screen: 'query', queries: [message.view], pages: {} });
      break;
    case 'showQueries':
      show({ screen: 'query', queries: [...message.views], pages: {} });
      break;
    case 'showBatch':
      show({ screen: 'batch', batch: message.view, queries: [], pages: {} });
      break;
    case 'documentsPage':
      if (state.screen === 'query' && state.queries?.some((q) => q.ref === message.page.ref)) showPage(message.page, state.queries, view);
      else view.update({ pages: { ...state.pages, [pageKey(message.page.ref, message.page.side)]: message.page } });
      break;
    case 'documentText':
      showDocumentText(message.ref, message.docIndex, message.text);
      break;
    case 'notice':
      notice.textContent = message.message;
      notice.className = `notice ${message.level}`;
      break;
    default: {
      const unknown: never = message;
      console.warn('Influence Lens: unknown message', unknown);
    }
  }
}

// VS Code swaps the body's theme class (and the --vscode-* variables) when the user changes theme.
new MutationObserver(() => render()).observe(document.body, { attributes: true, attributeFilter: ['class'] });
if (host.mode === 'report' && !/vscode-(light|dark|high-contrast)/.test(document.body.className)) {
  setBodyTheme(
    matchMedia('(forced-colors: active)').matches
      ? 'vscode-high-contrast'
      : matchMedia('(prefers-color-scheme: dark)').matches
        ? 'vscode-dark'
        : 'vscode-light',
  );
}
render();
host.post({ type: 'ready' });
