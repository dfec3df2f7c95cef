/**
 * Headless Chromium (Debian's, driven by playwright-core) for the webview suite: the panel's page served
 * exactly as InfluencePanel builds it (client/src/panel/html.ts, the built dist/webview files, a stand-in
 * for acquireVsCodeApi that records what the webview posts), and the checks both the panel and the
 * report tests make: console errors and CSP violations, drawn canvases, screenshots.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { chromium, type Browser, type Page } from 'playwright-core';
import { panelHtml } from '../../client/src/panel/html';
import type { HostToWebview, WebviewState, WebviewToHost } from '../../webview/src/messages';
import { REPO } from '../helpers/cli';

export const CHROMIUM = process.env.INFLUENCE_LENS_CHROMIUM ?? '/usr/bin/chromium';
export const ARTIFACTS = join(REPO, 'test', 'webview', '.artifacts');
const WEBVIEW = join(REPO, 'dist', 'webview');

export const SKIP: string | false = !existsSync(CHROMIUM)
  ? `skipped: ${CHROMIUM} not found (apt-get install chromium, or scripts/e2e-setup.sh as root)`
  : !existsSync(join(WEBVIEW, 'main.js'))
    ? 'skipped: dist/webview is not built (npm run build)'
    : false;

export const THEMES = ['vscode-light', 'vscode-dark', 'vscode-high-contrast'] as const;
export type ThemeClass = (typeof THEMES)[number];

export async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

/** What went wrong on a page: console errors, uncaught exceptions, CSP violations, requests that left it. */
export interface Problems {
  errors: string[];
  requests: string[];
}

/** Records problems from the first script on (CSP violations are also console errors). */
export async function watch(page: Page, allowed: (url: string) => boolean): Promise<Problems> {
  const problems: Problems = { errors: [], requests: [] };
  page.on('console', (m) => (m.type() === 'error' || m.type() === 'warning') && problems.errors.push(`console ${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => problems.errors.push(`page error: ${e.message}`));
  page.on('request', (r) => allowed(r.url()) || problems.requests.push(r.url()));
  // tsx compiles the functions this file hands to the page with calls to its __name helper: give the page one.
  await page.addInitScript({ content: 'globalThis.__name = (f) => f;' });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  return problems;
}

const ORIGIN = 'https://webview.test';
const FILES: Record<string, [string, string]> = {
  '/main.js': ['main.js', 'text/javascript'],
  '/styles.css': ['styles.css', 'text/css'],
  '/themes.css': ['themes.css', 'text/css'],
};

declare global {
  interface Window {
    __posted: WebviewToHost[];
    __state: WebviewState | undefined;
    __pwned?: string;
  }
}

/**
 * Opens the panel's page: InfluencePanel's HTML and CSP with https://webview.test as the webview's origin,
 * the editor's theme variables (themes.css stands in for VS Code's) and body class, and `state` as what
 * getState returns (a restored panel). `webview`: the built files (default: this checkout's dist/webview).
 */
export async function openPanel(page: Page, theme: ThemeClass, state?: WebviewState, webview = WEBVIEW): Promise<Problems> {
  const problems = await watch(page, (url) => url.startsWith(ORIGIN));
  const html = panelHtml({ cspSource: ORIGIN, scriptUri: `${ORIGIN}/main.js`, stylesUri: `${ORIGIN}/styles.css`, nonce: 'bm9uY2Utb2YtdGhlLXRlc3Q=' })
    .replace('</head>', `  <link href="${ORIGIN}/themes.css" rel="stylesheet">\n</head>`)
    .replace('<body>', `<body class="${theme}">`);
  await page.route(`${ORIGIN}/**`, (route) => {
    const path = new URL(route.request().url()).pathname;
    if (path === '/index.html') return route.fulfill({ body: html, contentType: 'text/html' });
    const file = FILES[path];
    return file ? route.fulfill({ body: readFileSync(join(webview, file[0])), contentType: file[1] }) : route.fulfill({ status: 404 });
  });
  await page.addInitScript((initial) => {
    let state = initial ?? undefined;
    window.__posted = [];
    window.__state = state;
    (window as unknown as { acquireVsCodeApi: () => unknown }).acquireVsCodeApi = () => ({
      postMessage: (m: WebviewToHost) => window.__posted.push(m),
      getState: () => state,
      setState: (s: WebviewState) => {
        state = s;
        window.__state = s;
        return s;
      },
    });
  }, state ?? null);
  await page.goto(`${ORIGIN}/index.html`);
  await page.waitForFunction(() => window.__posted.some((m) => m.type === 'ready'));
  return problems;
}

/** Delivers a host message the way VS Code does (a window message event). */
export async function send(page: Page, message: HostToWebview): Promise<void> {
  await page.evaluate((m) => window.postMessage(m, '*'), message);
}

/** The webview's messages posted since `from` (an index into the list). */
export async function posted(page: Page, from = 0): Promise<WebviewToHost[]> {
  return page.evaluate((i) => window.__posted.slice(i), from);
}

/** Waits for the next message of a type, after `from`. */
export async function nextPosted<T extends WebviewToHost['type']>(page: Page, type: T, from: number): Promise<Extract<WebviewToHost, { type: T }>> {
  await page.waitForFunction(([t, i]) => window.__posted.slice(i as number).some((m) => m.type === t), [type, from] as const);
  return (await posted(page, from)).find((m) => m.type === type) as Extract<WebviewToHost, { type: T }>;
}

/** Per figure, the data pixels its canvas holds: opaque and coloured (axes, grid and text are grey). */
export async function drawnPixels(page: Page): Promise<Record<string, number>> {
  return page.evaluate(() => {
    const out: Record<string, number> = {};
    document.querySelectorAll('canvas').forEach((canvas, i) => {
      const id = canvas.closest('figure')?.id ?? `canvas-${i}`;
      const ctx = canvas.getContext('2d');
      if (!ctx || !canvas.width || !canvas.height) return void (out[id] = 0);
      const { data } = ctx.getImageData(0, 0, canvas.width, canvas.height);
      let n = 0;
      for (let p = 0; p < data.length; p += 4) {
        if (data[p + 3] > 128 && Math.max(data[p], data[p + 1], data[p + 2]) - Math.min(data[p], data[p + 1], data[p + 2]) > 60) n++;
      }
      out[id] = n;
    });
    return out;
  });
}

/** Every figure on the page has a canvas with data drawn on it (unless it shows its table). */
export async function assertChartsDrawn(page: Page, expected: string[]): Promise<void> {
  const pixels = await drawnPixels(page);
  assert.deepEqual(Object.keys(pixels).sort(), [...expected].sort(), 'the figures with a canvas');
  for (const [id, n] of Object.entries(pixels)) assert.ok(n > 200, `${id}: only ${n} data pixels drawn`);
}

/** Hostile corpus text did not run and made no elements (the page's own scripts are `scripts`): it is on the page as characters. */
export async function assertNothingInjected(page: Page, scripts: number): Promise<void> {
  const found = await page.evaluate(() => ({
    pwned: window.__pwned,
    scripts: document.querySelectorAll('script').length,
    images: document.body.querySelectorAll('img, svg, style, iframe, object, embed').length,
    links: document.querySelectorAll('a').length,
    handlers: Array.from(document.querySelectorAll('*')).filter((e) => Array.from(e.attributes).some((a) => a.name.startsWith('on'))).length,
    bold: document.querySelectorAll('b, i').length,
  }));
  assert.deepEqual(found, { pwned: undefined, scripts, images: 0, links: 0, handlers: 0, bold: 0 });
}

/** WCAG contrast ratio of two CSS colours (as the page computes them). */
export async function contrast(page: Page, a: string, b: string): Promise<number> {
  return page.evaluate(
    ([x, y]) => {
      const probe = document.createElement('canvas').getContext('2d')!;
      const lum = (c: string) => {
        probe.fillStyle = c;
        const hex = String(probe.fillStyle);
        const ch = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255).map((v) => (v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4));
        return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
      };
      const [l1, l2] = [lum(x), lum(y)].sort((p, q) => q - p);
      return (l1 + 0.05) / (l2 + 0.05);
    },
    [a, b],
  );
}

/** The theme's colour variables as the page sees them. */
export async function themeColours(page: Page): Promise<{ foreground: string; background: string; positive: string; negative: string }> {
  return page.evaluate(() => {
    const s = getComputedStyle(document.body);
    const v = (n: string) => s.getPropertyValue(`--vscode-${n}`).trim();
    return { foreground: v('foreground'), background: v('editor-background'), positive: v('charts-blue'), negative: v('charts-red') };
  });
}

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, name);
}
