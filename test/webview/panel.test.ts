/**
 * The panel's webview in headless Chromium, served as InfluencePanel serves it (its HTML and CSP, the
 * built dist/webview files), fed the view models the server would send for a fixture results folder
 * (synthetic scores, real analyses, a hostile corpus): every chart drawn in light, dark and high-contrast
 * themes with no console error or CSP violation, the numbers equal to analysis.json's, hostile snippets
 * shown as text, clicks and keys posting the right messages, and the state restored after a reload.
 * Screenshots go to test/webview/.artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readAnalysis, type AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { buildQueryView, documentPage, queryViewInput } from '../../server/src/engine/report/queryView';
import { snippetFor } from '../../server/src/engine/report/snippet';
import type { BatchView, CardPage, QueryView } from '../../server/src/common/views';
import { readResults } from '../../server/src/engine/results/io';
import type { LoadedResults } from '../../server/src/engine/results/types';
import type { StatusParams } from '../../server/src/protocol';
import { HOSTILE_ID, HOSTILE_PROMPT, HOSTILE_TEXTS, makeResultsFixture, type ResultsFixture } from '../helpers/reportFixture';
import { checkBatchNumbers, checkQueryAlpha } from './checks';
import {
  artifact,
  assertChartsDrawn,
  assertNothingInjected,
  contrast,
  nextPosted,
  openPanel,
  posted,
  send,
  SKIP,
  themeColours,
  THEMES,
  type Problems,
  type ThemeClass,
} from './browser';

const BATCH_FIGURES = ['heatmap', 'total-influence', 'hit-rates', 'source-ladder-top', 'source-ladder-bottom'];
const queryFigures = (ref: string) => [`hist-${ref}`, `topk-${ref}`, `sources-${ref}`];
const STATUS: StatusParams = { state: 'ready', message: 'Ready', backend: { name: 'wasm', reason: 'first choice', threads: 2 } };

describe('the panel webview (Chromium)', { skip: SKIP }, () => {
  let dir: string;
  let fixture: ResultsFixture;
  let loaded: LoadedResults;
  let analysis: AnalysisReport;
  let batch: BatchView;
  let first: QueryView;
  let browser: Browser;
  const texts = new Map<number, string>();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'il-panel-'));
    fixture = await makeResultsFixture(dir);
    loaded = readResults(fixture.results);
    analysis = readAnalysis(fixture.results);
    readFileSync(fixture.corpus!, 'utf8')
      .trim()
      .split('\n')
      .forEach((line, i) => texts.set(i, JSON.parse(line).text));
    batch = buildBatchView(loaded, analysis);
    first = serverView(0);
    const { launch } = await import('./browser');
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the server sends for query q: its view, the first pages with snippets. */
  function serverView(q: number): QueryView {
    const view = buildQueryView(queryViewInput(loaded, q, `query:${q}`));
    return { ...view, top: withSnippets(view.top), bottom: withSnippets(view.bottom) };
  }

  function withSnippets(page: CardPage): CardPage {
    return { ...page, cards: page.cards.map((c) => ({ ...c, snippet: snippetFor(texts.get(c.docIndex)!, { side: c.side }) })) };
  }

  async function panel(theme: ThemeClass, state?: Parameters<typeof openPanel>[2]): Promise<{ page: Page; problems: Problems }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = await openPanel(page, theme, state);
    return { page, problems };
  }

  async function done(page: Page, problems: Problems): Promise<void> {
    assert.deepEqual(problems, { errors: [], requests: [] });
    await page.close();
  }

  it('shows the server status as its empty screen', async () => {
    const { page, problems } = await panel('vscode-dark');
    await send(page, { type: 'status', status: STATUS });
    await page.locator('.status .badge', { hasText: 'Ready' }).waitFor();
    assert.match(await page.locator('.status').innerText(), /wasm[\s\S]*first choice/);
    await done(page, problems);
  });

  for (const theme of THEMES) {
    it(`draws the batch view in ${theme}, readable`, async () => {
      const { page, problems } = await panel(theme);
      await send(page, { type: 'showBatch', view: batch });
      await page.waitForSelector('body[data-screen="batch"]');
      await assertChartsDrawn(page, BATCH_FIGURES);
      const c = await themeColours(page);
      assert.ok((await contrast(page, c.foreground, c.background)) >= 4.5, 'text contrast');
      for (const data of [c.positive, c.negative]) assert.ok((await contrast(page, data, c.background)) >= 3, `${data} on ${c.background}`);
      await page.screenshot({ path: artifact(`panel-batch-${theme}.png`), fullPage: true });
      if (theme === 'vscode-light') await checkBatchNumbers(page, analysis, batch);
      await done(page, problems);
    });
  }

  it('batch: the picker and the heatmap (mouse and keyboard) open queries', async () => {
    const { page, problems } = await panel('vscode-light');
    await send(page, { type: 'showBatch', view: batch });
    await page.waitForSelector('body[data-screen="batch"]');
    let from = (await posted(page)).length;
    await page.locator('#queries button', { hasText: 'arith-2' }).click();
    assert.deepEqual(await nextPosted(page, 'openQuery', from), { type: 'openQuery', ref: 'query:5' });

    // Keyboard: the cursor starts at the first cell; right once, then Enter opens that pair.
    const ref = (i: number) => batch.queries[batch.heatmap.order[i]].ref;
    const id = (i: number) => batch.queries[batch.heatmap.order[i]].id;
    from = (await posted(page)).length;
    await page.locator('#heatmap canvas').focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.match(await page.locator('#heatmap .live').innerText(), new RegExp(`^${id(2)} \\(.*\\) × ${id(1)} \\(.*\\): r = `));
    await page.keyboard.press('Enter');
    assert.deepEqual(await nextPosted(page, 'openQueries', from), { type: 'openQueries', refs: [ref(2), ref(1)] });

    // Mouse: hover names the pair (and r), a click opens the same pair.
    const box = (await page.locator('#heatmap canvas').boundingBox())!;
    const keyed = await page.locator('#heatmap .live').innerText();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height * 0.35);
    await page.waitForFunction((before) => document.querySelector('#heatmap .live')!.textContent !== before, keyed);
    const hovered = (await page.locator('#heatmap .live').innerText()).match(/^(\S+) \(.*\) × (\S+) \(/)!;
    from = (await posted(page)).length;
    await page.mouse.click(box.x + box.width * 0.7, box.y + box.height * 0.35);
    const byId = (x: string) => batch.queries.find((q) => q.id === x)!.ref;
    assert.deepEqual(await nextPosted(page, 'openQueries', from), { type: 'openQueries', refs: [byId(hovered[1]), byId(hovered[2])] });

    // Another kind for the source figures: both redrawn, the keyboard focus kept on the menu.
    await page.locator('#source-kind').focus();
    await page.locator('#source-kind').selectOption('reasoning');
    await page.locator('#source-ladder-bottom h3', { hasText: '(reasoning)' }).waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'source-kind');
    await assertChartsDrawn(page, BATCH_FIGURES);
    await done(page, problems);
  });

  for (const theme of THEMES) {
    it(`draws one query in ${theme}; hostile text stays text`, async () => {
      const { page, problems } = await panel(theme);
      await send(page, { type: 'showQuery', view: first });
      await page.waitForSelector('body[data-screen="query"]');
      await assertChartsDrawn(page, queryFigures('query:0'));
      await checkQueryAlpha(page, analysis, 0);
      const snippets = await page.locator('#cards-query\\:0-top .snippet').allTextContents();
      assert.deepEqual(snippets.slice(0, HOSTILE_TEXTS.length), HOSTILE_TEXTS);
      assert.ok((await page.locator('#cards-query\\:0-top .doc-id').allTextContents()).includes(HOSTILE_ID));
      await assertNothingInjected(page, 1);
      await page.screenshot({ path: artifact(`panel-query-${theme}.png`), fullPage: true });
      await done(page, problems);
    });
  }

  it('query: one line says what a per-nat score means; its link asks the host for the README section', async () => {
    const { page, problems } = await panel('vscode-light');
    await send(page, { type: 'showQuery', view: first });
    await page.waitForSelector('body[data-screen="query"]');
    assert.ok(first.meaning, 'the fixture query is per nat');
    const line = page.locator('.score-meaning');
    assert.equal(await line.count(), 1);
    assert.equal(await line.innerText(), `${first.meaning.line} README: What a score means`);
    const from = (await posted(page)).length;
    await line.getByRole('button', { name: 'README: What a score means' }).click();
    assert.deepEqual(await nextPosted(page, 'explainScores', from), { type: 'explainScores' });
    await done(page, problems);
  });

  it('query: a card whose text the server withholds (the corpus changed since scoring) says why', async () => {
    const { page, problems } = await panel('vscode-light');
    const why = 'the corpus at /c/corpus.jsonl is not the one scored: its fingerprint is 0123456789ab';
    const view = { ...first, top: { ...first.top, cards: first.top.cards.map((c) => ({ ...c, snippet: undefined, noText: why })) } };
    await send(page, { type: 'showQuery', view });
    await page.waitForSelector('body[data-screen="query"]');
    const missing = page.locator('.card.top .snippet.missing').first();
    assert.equal(await missing.innerText(), `No text: ${why}.`);
    await done(page, problems);
  });

  it('query: documents open, ids copy, pages turn, k changes; a reload restores it all', async () => {
    const { page, problems } = await panel('vscode-dark');
    await send(page, { type: 'showQuery', view: first });
    await page.waitForSelector('body[data-screen="query"]');
    const top = page.locator('#cards-query\\:0-top');
    let from = (await posted(page)).length;
    await top.locator('article').nth(0).getByRole('button', { name: 'Open document' }).click();
    assert.deepEqual(await nextPosted(page, 'openDocument', from), { type: 'openDocument', ref: 'query:0', docIndex: fixture.hostile[0] });
    from = (await posted(page)).length;
    await top.locator('article').nth(2).getByRole('button', { name: 'Copy id' }).click();
    assert.deepEqual(await nextPosted(page, 'copyId', from), { type: 'copyId', id: HOSTILE_ID });

    // Next page: the webview asks, the host answers (as the server would: a page with snippets).
    from = (await posted(page)).length;
    await top.getByRole('button', { name: 'Next' }).click();
    const request = await nextPosted(page, 'requestPage', from);
    assert.deepEqual(request, { type: 'requestPage', ref: 'query:0', side: 'top', offset: 10, limit: 10 });
    await send(page, { type: 'documentsPage', page: withSnippets(documentPage(queryViewInput(loaded, 0, 'query:0'), 'top', 10, 10)) });
    await page.locator('#cards-query\\:0-top .rank', { hasText: '#11' }).waitFor();
    assert.deepEqual(
      await page.locator('#cards-query\\:0-top .rank').allTextContents(),
      Array.from({ length: 10 }, (_, i) => `#${i + 11}`),
    );
    assert.equal(await page.evaluate(() => (document.activeElement as HTMLElement).dataset.pager), 'next', 'focus stays on the pager');

    // k: another rung of the ladder redraws the source figure.
    await page.locator('#sources-query\\:0 select').selectOption('10');
    await page.locator('#sources-query\\:0 caption, #sources-query\\:0 figcaption', { hasText: 'among the 10 most helpful' }).waitFor();

    // A reload (the serializer) restores from the state: no message needed.
    const state = await page.evaluate(() => window.__state);
    await done(page, problems);
    const restored = await panel('vscode-dark', state);
    await restored.page.waitForSelector('body[data-screen="query"]');
    assert.deepEqual(
      await restored.page.locator('#cards-query\\:0-top .rank').allTextContents(),
      Array.from({ length: 10 }, (_, i) => `#${i + 11}`),
    );
    assert.equal(await restored.page.locator('#sources-query\\:0 select').inputValue(), '10');
    await assertChartsDrawn(restored.page, queryFigures('query:0'));
    await done(restored.page, restored.problems);
  });

  it('two queries side by side; back to the batch; a theme change redraws', async () => {
    const { page, problems } = await panel('vscode-light');
    await send(page, { type: 'showBatch', view: batch });
    await page.waitForSelector('body[data-screen="batch"]');
    await send(page, { type: 'showQueries', views: [first, serverView(5)] });
    await page.waitForSelector('body[data-screen="query"]');
    assert.deepEqual(await page.locator('.query h2').allTextContents(), ['Query capital-fr', 'Query arith-2']);
    assert.equal(await page.locator('.query[data-ref="query:5"] .prompt').textContent(), HOSTILE_PROMPT);
    await assertChartsDrawn(page, [...queryFigures('query:0'), ...queryFigures('query:5')]);
    const renders = Number(await page.getAttribute('body', 'data-renders'));
    await page.evaluate(() => document.body.classList.replace('vscode-light', 'vscode-high-contrast'));
    await page.waitForFunction((n) => Number(document.body.dataset.renders) > n, renders);
    await assertChartsDrawn(page, [...queryFigures('query:0'), ...queryFigures('query:5')]);
    await page.getByRole('button', { name: '← Batch analyses' }).click();
    await page.waitForSelector('body[data-screen="batch"]');
    await assertChartsDrawn(page, BATCH_FIGURES);
    await done(page, problems);
  });
});
