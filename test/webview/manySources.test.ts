/**
 * A corpus with thousands of distinct source labels (30,000 documents, ~10,000 labels): the report opens
 * and the panel draws its batch view, each with the 20 largest sources and one "N other sources" line
 * (the report used to put a line per label into the chart, and a 17,700-label report took 50 s to its
 * first frame); `analyze` prints no line longer than a terminal's few hundred characters. Chromium.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { readAnalysis } from '../../server/src/engine/analysis/analyze';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { MAX_SOURCES } from '../../server/src/engine/report/otherSources';
import { readResults, writeResults } from '../../server/src/engine/results/io';
import type { ResultsMeta } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';
import { runCli } from '../helpers/cli';
import { assertChartsDrawn, launch, openPanel, send, SKIP, watch } from './browser';

const N = 30_000;
const LABELS = 10_000;
// No hit rates: the queries have no answers.
const BATCH_FIGURES = ['heatmap', 'total-influence', 'source-ladder-top', 'source-ladder-bottom'];

/** A results folder over a corpus where a third of the documents are "web" and the rest spread over LABELS labels. */
async function manySources(dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const rng = new Rng(5);
  const sources = Array.from({ length: N }, (_, d) => (d % 3 === 0 ? 'web' : `label-${d % LABELS}`));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, sources.map((source, d) => JSON.stringify({ id: `d${d}`, source, text: `document ${d} from ${source}` })).join('\n') + '\n');
  const kinds = ['factual', 'factual', 'reasoning', 'reasoning', 'control'];
  const queries = kinds.map((kind, i) => ({
    id: `q${i}`,
    kind,
    task: null,
    prompt: `prompt ${i}`,
    completion: ' c',
    generated: false,
    answer: null,
    nllNats: 2,
    promptTokens: [1],
    completionTokens: [2],
  }));
  const meta: ResultsMeta = {
    tool: 'influence-lens test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { path: 'model', fingerprint: 'm', architecture: 'llama' },
    corpus: { path: corpus, fingerprint: await corpusFingerprint({ path: corpus }), documents: N, skipped: 0, skippedIssues: [] },
    factors: { path: 'factors', strategy: 'ekfac', fisher: 'sampled', documents: N, tokens: 10 * N },
    strategy: 'ekfac',
    damping: { 'layers.0.mlp.down': 1e-3 },
    rank: null,
    method: { scoring: 'exact', contraction: { 'layers.0.mlp.down': 'dense' }, maxLen: 64, shard: null },
    documents: sources.map((source, d) => ({ index: d, id: `d${d}`, source, tokens: 10, file: corpus, line: d + 1 })),
    queries,
  };
  const results = join(dir, 'results');
  writeResults(
    results,
    meta,
    Float32Array.from({ length: kinds.length * N }, () => 1e-3 * rng.normal()),
  );
  return results;
}

describe('thousands of source labels: analyze, the report and the panel stay bounded (Chromium)', { skip: SKIP }, () => {
  let dir: string;
  let results: string;
  let browser: Browser;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'il-many-sources-'));
    results = await manySources(dir);
    browser = await launch();
  });

  after(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The rows of a figure's table (its "Table" toggle), header excluded. */
  async function tableRows(page: Page, figure: string): Promise<string[]> {
    await page.locator(`#${figure} button.toggle`).click();
    await page.locator(`#${figure} table`).waitFor();
    return page.locator(`#${figure} tbody tr th, #${figure} tbody tr td:first-child`).allInnerTexts();
  }

  async function assertBoundedBatch(page: Page): Promise<void> {
    await assertChartsDrawn(page, BATCH_FIGURES);
    const nodes = await page.evaluate(() => document.getElementsByTagName('*').length);
    assert.ok(nodes < 3000, `${nodes} elements on the page`);
    const rows = await tableRows(page, 'source-ladder-top');
    assert.equal(rows.length, MAX_SOURCES + 1, rows.slice(0, 30).join(' | '));
    assert.equal(rows[0], 'web');
    assert.match(rows[MAX_SOURCES], /^[\d,]+ other sources$/);
  }

  it('analyze: exit 0, every line short, the rest of the labels summed as "other sources"', async () => {
    const run = await runCli(['analyze', '--results', results, '--permutations', '20']);
    assert.equal(run.code, 0, run.stderr);
    const longest = Math.max(...run.stdout.split('\n').map((l) => l.length));
    assert.ok(longest < 400, `the longest line has ${longest} characters`);
    assert.match(run.stdout, /corpus: web 33%, .*, [\d,]+ other sources \d+%\n/);
  });

  it('the report: a small file that opens, draws every chart, and lists 20 sources and "other"', async () => {
    const file = join(dir, 'report.html');
    const run = await runCli(['report', '--results', results, '--out', file, '--cards', '10']);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(statSync(file).size < 4 * 2 ** 20, `report.html is ${statSync(file).size} bytes`);
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const url = pathToFileURL(file).href;
    const problems = await watch(page, (u) => u === url);
    await page.goto(url);
    await page.waitForSelector('body[data-screen="batch"]');
    await assertBoundedBatch(page);
    assert.deepEqual(problems, { errors: [], requests: [] });
    await page.close();
  });

  it('the panel: the batch view the server sends draws 20 sources and "other"', async () => {
    const batch = buildBatchView(readResults(results), readAnalysis(results));
    assert.ok(JSON.stringify(batch).length < 200_000, 'the message to the webview stays small');
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = await openPanel(page, 'vscode-dark');
    await send(page, { type: 'showBatch', view: batch });
    await page.waitForSelector('body[data-screen="batch"]');
    await assertBoundedBatch(page);
    assert.deepEqual(problems, { errors: [], requests: [] });
    await page.close();
  });
});
