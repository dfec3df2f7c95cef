/**
 * `influence-lens report` (the built CLI) on fixture results: a clear error without analysis.json or
 * --results; snippets from the recorded corpus, from --corpus when it moved, and none (with the reason
 * on stderr, the report still written) when the corpus is missing or is not the one scored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReportData } from '../../server/src/common/views';
import { REPO, runCli, runNode } from '../helpers/cli';
import { makeResultsFixture } from '../helpers/reportFixture';

function reportData(file: string): ReportData {
  const json = readFileSync(file, 'utf8').match(/<script type="application\/json" id="influence-lens-report">([^<]*)<\/script>/)![1];
  return JSON.parse(json) as ReportData;
}

const snippets = (d: ReportData) =>
  Object.values(d.cards)
    .flatMap((c) => [...c.top, ...c.bottom])
    .filter((c) => c.snippet).length;

test('report: errors name what is missing', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = await makeResultsFixture(dir, { corpus: false, documents: 50 });
  const noAnalysis = await runCli(['report', '--results', f.results]);
  assert.equal(noAnalysis.code, 1);
  assert.match(noAnalysis.stderr, /no analysis\.json in .*: run influence-lens analyze --results .* first/);
  const usage = await runCli(['report']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /missing --results/);
});

test('report: snippets from the scored corpus, or none with the reason', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = await makeResultsFixture(dir, { documents: 120 });
  const out = join(dir, 'r.html');
  const ok = await runCli(['report', '--results', f.results, '--out', out, '--cards', '5', '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal(ok.stderr, '');
  const data = reportData(out);
  assert.equal(snippets(data), 10 * 10);
  assert.equal(Object.keys(data.queries).length, 10);

  // The corpus moved: --corpus finds it.
  // (Another folder, the same file name: a one-file corpus's name is part of its fingerprint.)
  mkdirSync(join(dir, 'moved'));
  const moved = join(dir, 'moved', 'corpus.jsonl');
  renameSync(f.corpus!, moved);
  const missing = await runCli(['report', '--results', f.results, '--out', out]);
  assert.equal(missing.code, 0, missing.stderr);
  assert.match(missing.stderr, /cards without snippets: corpus not found: .*corpus\.jsonl; pass --corpus/);
  assert.equal(snippets(reportData(out)), 0);
  const given = await runCli(['report', '--results', f.results, '--out', out, '--corpus', moved, '--cards', '5']);
  assert.equal(given.code, 0, given.stderr);
  assert.equal(snippets(reportData(out)), 100);

  // Another corpus in its place: no text is shown on the wrong cards.
  writeFileSync(moved, readFileSync(moved, 'utf8').replace(/"id":"doc-1(\d)"/g, '"id":"other-1$1"'));
  const changed = await runCli(['report', '--results', f.results, '--out', out, '--corpus', moved]);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stderr, /is not the one scored \(\d+ documents differ in id or source/);
  assert.equal(snippets(reportData(out)), 0);
});

test('report: from an installed layout, the webview bundle beside dist/cli.js (as in the .vsix)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-cli-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const f = await makeResultsFixture(join(dir, 'fixture'), { documents: 60 });
  const ext = join(dir, 'extension');
  mkdirSync(join(ext, 'bin'), { recursive: true });
  mkdirSync(join(ext, 'dist'));
  copyFileSync(join(REPO, 'bin', 'influence-lens.js'), join(ext, 'bin', 'influence-lens.js'));
  copyFileSync(join(REPO, 'dist', 'cli.js'), join(ext, 'dist', 'cli.js'));
  symlinkSync(join(REPO, 'node_modules'), join(ext, 'node_modules'));
  const run = (out: string) => runNode([join(ext, 'bin', 'influence-lens.js'), 'report', '--results', f.results, '--out', out]);
  const missing = await run(join(dir, 'a.html'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /the webview bundle is missing \(looked in .*extension\/dist\/webview and .*\); run npm run build/);
  cpSync(join(REPO, 'dist', 'webview'), join(ext, 'dist', 'webview'), { recursive: true });
  const ok = await run(join(dir, 'b.html'));
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(readFileSync(join(dir, 'b.html'), 'utf8').includes(readFileSync(join(ext, 'dist', 'webview', 'themes.css'), 'utf8').slice(0, 200)));
});
