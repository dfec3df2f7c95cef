/**
 * The batch view and the HTML report's data (engine/report): the heatmap in kind/task order holding
 * analysis.json's r, α per query, a refused analysis of other queries, snippets and texts for the
 * inlined cards, and a report page whose inlined JSON no corpus text can break out of.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAnalysis } from '../../server/src/engine/analysis/analyze';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { inertJson, reportHtml } from '../../server/src/engine/report/html';
import { documentsOf, reportViews, withTexts } from '../../server/src/engine/report/reportData';
import { readResults } from '../../server/src/engine/results/io';
import { HOSTILE_TEXTS, makeResultsFixture } from '../helpers/reportFixture';

async function fixture(t: { after: (f: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'il-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = await makeResultsFixture(dir);
  return { ...f, loaded: readResults(f.results), analysis: readAnalysis(f.results) };
}

test('batch view: heatmap grouped by kind then task, holding analysis.json r; α per query', async (t) => {
  const { loaded, analysis } = await fixture(t);
  const b = buildBatchView(loaded, analysis);
  const ids = (i: number) => b.queries[b.heatmap.order[i]].id;
  assert.deepEqual(
    b.heatmap.order.map((_, i) => ids(i)),
    ['capital-fr', 'capital-jp', 'capital-it', 'river-eg', 'arith-1', 'arith-2', 'arith-3', 'slope-1', 'slope-2', 'story'],
  );
  assert.deepEqual(
    b.heatmap.groups.map((g) => [g.kind, g.task, g.start, g.count]),
    [
      ['factual', 'capitals', 0, 3],
      ['factual', 'rivers', 3, 1],
      ['reasoning', 'arithmetic', 4, 3],
      ['reasoning', 'slopes', 7, 2],
      ['control', null, 9, 1],
    ],
  );
  const m = analysis.correlations.matrix;
  b.heatmap.r.forEach((row, i) => row.forEach((r, j) => assert.equal(r, m[b.heatmap.order[i]][b.heatmap.order[j]])));
  b.queries.forEach((q, i) => {
    assert.equal(q.alpha, analysis.powerLaw.perQuery[i].alpha);
    assert.equal(q.ref, `query:${i}`);
  });
  assert.deepEqual(b.kinds, ['factual', 'reasoning', 'control']);
  assert.deepEqual(b.powerLaw.byKind, analysis.powerLaw.byKind);
  assert.equal(b.answers.available, true);
  // An analysis of other queries is refused, naming analysis.json.
  const other = { ...analysis, correlations: { ...analysis.correlations, queries: [...analysis.correlations.queries].reverse() } };
  assert.throws(
    () => buildBatchView(loaded, other),
    (e: Error & { file?: string }) => /rerun influence-lens analyze/.test(e.message) && e.file!.endsWith('analysis.json'),
  );
});

test('report data: every inlined card has a snippet and its text; hostile text intact', async (t) => {
  const { loaded, analysis, corpus, hostile } = await fixture(t);
  const views = reportViews(loaded, analysis, { cards: 12 });
  const need = documentsOf(views);
  assert.ok(hostile.every((d) => need.has(d)));
  const texts = new Map(
    readFileSync(corpus!, 'utf8')
      .trim()
      .split('\n')
      .map((l, i) => [i, JSON.parse(l).text as string]),
  );
  const data = withTexts(views, (i) => texts.get(i));
  for (const [ref, cards] of Object.entries(data.cards)) {
    assert.equal(cards.top.length, 12);
    assert.equal(data.queries[ref].top.available, 12);
    for (const c of [...cards.top, ...cards.bottom]) {
      assert.ok(c.snippet, `${ref} ${c.docIndex}`);
      assert.equal(data.texts[c.docIndex], texts.get(c.docIndex));
    }
    assert.deepEqual(data.queries[ref].top.cards, cards.top.slice(0, 10));
  }
  const first = data.cards['query:0'].top;
  assert.deepEqual(
    first.slice(0, 5).map((c) => c.docIndex),
    hostile,
  );
  assert.equal(first[0].snippet!.before, HOSTILE_TEXTS[0]);
});

test('report page: one nonce-carrying script and style, data inlined inertly', async (t) => {
  const { loaded, analysis } = await fixture(t);
  const views = reportViews(loaded, analysis, { cards: 5 });
  const data = withTexts(views, () => '</script><script>alert(1)</script><!-- \u2028');
  const html = reportHtml({ script: 'console.log("</script>")', styles: 'body{}', themes: '' }, data, 'a <title>');
  assert.equal(html.match(/<script/g)!.length, 2);
  assert.equal(html.match(/<\/script>/g)!.length, 2);
  assert.ok(!html.includes('<title>a <title>'));
  const nonce = html.match(/script-src 'nonce-([^']+)'/)![1];
  assert.ok(html.includes(`<script nonce="${nonce}">`) && html.includes(`<style nonce="${nonce}">`));
  const json = html.match(/<script type="application\/json" id="influence-lens-report">([^<]*)<\/script>/)![1];
  assert.deepEqual(JSON.parse(json), JSON.parse(JSON.stringify(data)));
  assert.ok(!/[<>&\u2028]/.test(inertJson({ a: '<>&\u2028' })));
});
