/**
 * `influence-lens report` end to end: the built CLI writes one HTML file for a fixture results folder
 * (hostile corpus included), and headless Chromium opens it from disk: nothing is fetched, no console
 * error or CSP violation, every chart drawn in each theme, the numbers equal analysis.json's, the query
 * picker, pages and "Open document" answered from the inlined data, hostile text shown as text.
 * Screenshots go to test/webview/.artifacts/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readAnalysis, type AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { readResults } from '../../server/src/engine/results/io';
import { runCli } from '../helpers/cli';
import { HOSTILE_PROMPT, HOSTILE_TEXTS, makeResultsFixture, type ResultsFixture } from '../helpers/reportFixture';
import { checkBatchNumbers, checkQueryAlpha } from './checks';
import { artifact, assertChartsDrawn, assertNothingInjected, launch, SKIP, THEMES, watch, type Problems } from './browser';

const BATCH_FIGURES = ['heatmap', 'total-influence', 'hit-rates', 'source-ladder-top', 'source-ladder-bottom'];

describe('the HTML report (Chromium, from disk)', { skip: SKIP }, () => {
  let dir: string;
  let fixture: ResultsFixture;
  let analysis: AnalysisReport;
  let file: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'il-report-html-'));
    fixture = await makeResultsFixture(dir);
    analysis = readAnalysis(fixture.results);
    file = join(dir, 'shared', 'report.html');
    const run = await runCli(['report', '--results', fixture.results, '--out', file, '--cards', '20']);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout.trim(), file);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(): Promise<{ page: Page; problems: Problems }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const url = pathToFileURL(file).href;
    const problems = await watch(page, (u) => u === url);
    await page.goto(url);
    await page.waitForSelector('body[data-screen="batch"]');
    return { page, problems };
  }

  async function done(page: Page, problems: Problems): Promise<void> {
    assert.deepEqual(problems, { errors: [], requests: [] });
    await page.close();
  }

  it('is one self-contained file: no src or href to load, a CSP without network', () => {
    const html = readFileSync(file, 'utf8');
    assert.doesNotMatch(html, /<(script|link|img)[^>]+(src|href)=/i);
    assert.match(html, /default-src 'none'; style-src 'nonce-[^']+'; script-src 'nonce-[^']+'; img-src data:;/);
    for (const text of HOSTILE_TEXTS) assert.ok(!html.includes(text), 'corpus text only inside the escaped JSON');
  });

  it("draws every chart in each theme; the numbers are analysis.json's", async () => {
    const { page, problems } = await open();
    const batch = buildBatchView(readResults(fixture.results), analysis);
    await checkBatchNumbers(page, analysis, batch);
    for (const theme of THEMES) {
      await page.locator('.report-toolbar select').selectOption(theme);
      await page.waitForFunction((t) => document.body.classList.contains(t), theme);
      await assertChartsDrawn(page, BATCH_FIGURES);
      await page.screenshot({ path: artifact(`report-batch-${theme}.png`), fullPage: true });
    }
    await done(page, problems);
  });

  it('opens queries from the picker; pages, documents and hostile text from the inlined data', async () => {
    const { page, problems } = await open();
    await page.locator('#queries button', { hasText: 'capital-fr' }).click();
    await page.waitForSelector('body[data-screen="query"]');
    await assertChartsDrawn(page, ['hist-query:0', 'topk-query:0', 'sources-query:0']);
    await checkQueryAlpha(page, analysis, 0);
    const top = page.locator('#cards-query\\:0-top');
    assert.deepEqual((await top.locator('.snippet').allTextContents()).slice(0, HOSTILE_TEXTS.length), HOSTILE_TEXTS);
    await top.locator('article').nth(1).getByRole('button', { name: 'Open document' }).click();
    await top.locator('article').nth(1).locator('pre.doc-text').waitFor();
    assert.equal(await top.locator('article').nth(1).locator('pre.doc-text').textContent(), HOSTILE_TEXTS[1]);
    await assertNothingInjected(page, 2);
    await page.screenshot({ path: artifact('report-query-vscode-light.png'), fullPage: true });

    // Pages: the 20 inlined cards, then no further.
    await top.getByRole('button', { name: 'Next' }).click();
    await top.locator('.rank', { hasText: '#11' }).waitFor();
    assert.match(await top.locator('.page-range').innerText(), /^11–20 of 400 \(the first 20 are in this report\)$/);
    assert.equal(await top.getByRole('button', { name: 'Next' }).isDisabled(), true);

    // Back, and a query whose prompt is hostile.
    await page.getByRole('button', { name: '← Batch analyses' }).click();
    await page.waitForSelector('body[data-screen="batch"]');
    await page.locator('#queries button', { hasText: 'arith-2' }).click();
    await page.locator('.query[data-ref="query:5"]').waitFor();
    assert.equal(await page.locator('.query .prompt').textContent(), HOSTILE_PROMPT);
    await assertNothingInjected(page, 2);
    await done(page, problems);
  });
});
