/**
 * What the panel and the report must both show, checked against analysis.json itself: the α table and
 * its t-test, the heatmap's r (through its table), the answer hit rates, the group correlations, and α
 * of a single query. Every number cell carries the value it shows in data-value; the check compares that
 * with analysis.json exactly and the text with the shared formatting.
 */
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import type { AnalysisReport } from '../../server/src/engine/analysis/analyze';
import type { BatchView } from '../../server/src/common/views';
import { fixed, MISSING, percent, pValue } from '../../webview/src/format';

interface Shown {
  text: string;
  value: number | null;
}

/** The number cells of a table's body rows, keyed by the row's header. */
async function tableRows(page: Page, selector: string): Promise<Map<string, Shown[]>> {
  const rows = await page.locator(selector).evaluate((table) =>
    Array.from(table.querySelectorAll('tbody tr')).map((tr) => ({
      head: tr.querySelector('th')?.textContent ?? '',
      cells: Array.from(tr.querySelectorAll('td')).map((td) => ({
        text: td.textContent ?? '',
        value: td.dataset.value === undefined ? null : Number(td.dataset.value),
      })),
    })),
  );
  return new Map(rows.map((r) => [r.head, r.cells]));
}

function same(shown: Shown, value: number | null, text: string, what: string): void {
  assert.equal(shown.value, value, `${what}: value`);
  assert.equal(shown.text, text, `${what}: text`);
}

async function toggleTable(page: Page, figure: string, on: boolean): Promise<void> {
  const button = page.locator(`#${figure} > header button.toggle`);
  if ((await button.getAttribute('aria-pressed')) !== String(on)) await button.click();
  await page
    .locator(`#${figure} ${on ? 'table' : 'canvas'}`)
    .first()
    .waitFor();
}

export async function checkBatchNumbers(page: Page, analysis: AnalysisReport, batch: BatchView): Promise<void> {
  // Power law per kind, and the t-test.
  const alpha = await tableRows(page, '#alpha-table');
  for (const [kind, s] of Object.entries(analysis.powerLaw.byKind)) {
    const [n, mean, sd] = alpha.get(kind)!;
    assert.equal(n.value, s.n);
    same(mean, s.mean, fixed(s.mean), `α mean ${kind}`);
    same(sd, s.sd, fixed(s.sd), `α sd ${kind}`);
  }
  const test = analysis.powerLaw.test!;
  const parts = await page
    .locator('#alpha-test span')
    .evaluateAll((spans) => spans.map((s) => [(s as HTMLElement).dataset.name, (s as HTMLElement).dataset.value, s.textContent]));
  assert.deepEqual(parts, [
    ['difference', String(test.meanDifference), fixed(test.meanDifference)],
    ['t', String(test.t), fixed(test.t, 2)],
    ['df', String(test.df), fixed(test.df, 1)],
    ['p', String(test.p), pValue(test.p)],
  ]);

  // Correlation groups.
  const groups = await tableRows(page, '#correlation-groups');
  for (const g of analysis.correlations.groups) same(groups.get(g.label)![2], g.meanR, fixed(g.meanR), `mean r ${g.label}`);

  // Hit rates, from the figure's table.
  assert.ok(analysis.answers.available);
  await toggleTable(page, 'hit-rates', true);
  const hits = await page.locator('#hit-rates table tbody tr').evaluateAll((trs) =>
    trs.map((tr) => {
      const td = tr.querySelectorAll('td');
      return { kind: tr.querySelector('th')!.textContent, k: td[0].textContent, text: td[2].textContent, value: Number((td[2] as HTMLElement).dataset.value) };
    }),
  );
  const expected = Object.entries(analysis.answers.byKind).flatMap(([kind, s]) =>
    analysis.answers.available
      ? analysis.answers.ks.map((k, j) => ({ kind, k: k.toLocaleString('en-US'), text: percent(s.hitRate[j]), value: s.hitRate[j] }))
      : [],
  );
  assert.deepEqual(hits, expected);
  await toggleTable(page, 'hit-rates', false);

  // The heatmap's r, from its table (rows and columns in heatmap order).
  await toggleTable(page, 'heatmap', true);
  const matrix = await page
    .locator('#heatmap table tbody tr')
    .evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => (td.dataset.value === undefined ? null : Number(td.dataset.value)))),
    );
  const order = batch.heatmap.order;
  assert.deepEqual(
    matrix,
    order.map((i) => order.map((j) => analysis.correlations.matrix[i][j])),
  );
  await toggleTable(page, 'heatmap', false);
}

/** α of the query shown, against analysis.json's fit for it. */
export async function checkQueryAlpha(page: Page, analysis: AnalysisReport, queryIndex: number): Promise<void> {
  const a = analysis.powerLaw.perQuery[queryIndex].alpha;
  const shown = await page
    .locator('.query .alpha')
    .first()
    .evaluate((e) => ({ value: (e as HTMLElement).dataset.value, text: e.textContent }));
  assert.equal(Number(shown.value), a);
  assert.ok(shown.text!.startsWith(`α = ${a === null ? MISSING : fixed(a)} `), shown.text!);
}
