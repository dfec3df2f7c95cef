/** A reduced demo (few documents, few queries) runs end to end through the same steps as npm run demo. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { corpusJsonl, generateCorpus, DEFAULT_SEED } from '../../demo/src/corpus/generate';
import { DEMO_PATHS, runDemo } from '../../demo/src/run';
import { readResults } from '../../server/src/engine/results/io';
import { readAnalysis } from '../../server/src/engine/analysis/analyze';
import { readManifest } from '../../server/src/engine/gradindex/store';

test('reduced demo: corpus → fit (with the index) → score → analyses', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-demo-run-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: 4000 }).filter((_, i) => i % 50 === 0)));
  const lines = readFileSync(DEMO_PATHS.queries, 'utf8').split('\n').filter(Boolean);
  const pick = ['factual', 'reasoning', 'control'].flatMap((kind) => lines.filter((l) => JSON.parse(l).kind === kind).slice(0, 2));
  const queries = join(dir, 'queries.jsonl');
  writeFileSync(queries, pick.join('\n') + '\n');
  const paths = { model: DEMO_PATHS.model, corpus, queries, factors: join(dir, 'factors'), index: join(dir, 'index'), results: join(dir, 'results') };
  await runDemo(paths, { quiet: true, workers: 2 });
  const r = readResults(paths.results);
  assert.equal(r.results.queries.length, 6);
  assert.equal(r.results.documents.length, 80);
  assert.deepEqual(new Set(r.results.documents.map((d) => d.source)), new Set(['code', 'math', 'qa', 'wiki', 'web']));
  assert.ok(r.results.queries.every((q) => q.generated && q.nllNats > 0));
  assert.ok(existsSync(join(paths.results, 'analysis.json')));
  const a = readAnalysis(paths.results);
  assert.ok(a.correlations.matrix.length === 6);
  assert.match(readFileSync(join(paths.results, 'report.html'), 'utf8'), /<script type="application\/json" id="influence-lens-report">/);
  // The index written during the fit covers every document.
  assert.equal(readManifest(paths.index).documents, 80);
  // A second run reuses the cached factors.
  await runDemo(paths, { quiet: true, workers: 2 });
});
