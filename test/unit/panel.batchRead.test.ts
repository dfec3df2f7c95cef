/**
 * The panel's batch view reads its results folder without holding the language server: results.json,
 * scores.f32 and analysis.json are opened non-blocking, checked on the handle and read in pieces, and the
 * request's cancellation stops the reads (they were synchronous and could not be cancelled). The same
 * loaded results as the CLI's synchronous reader; a FIFO in place of the scores is refused at once.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze, readAnalysis, readAnalysisAsync, writeAnalysis } from '../../server/src/engine/analysis/analyze';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { readResults, readResultsAsync, writeResults } from '../../server/src/engine/results/io';
import type { ResultsMeta } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';
import { PanelHandler } from '../../server/src/handlers/panel';
import { AnswerStore } from '../../server/src/refs';
import { WarmState } from '../../server/src/session/warmState';

const N = 200_000; // 4 queries × 200,000 documents: 3.2 MB of scores

/** A results folder (with analysis.json) over a corpus that is not there (the batch view needs no text). */
function resultsFolder(dir: string): string {
  const rng = new Rng(11);
  const kinds = ['factual', 'factual', 'reasoning', 'reasoning'];
  const meta: ResultsMeta = {
    tool: 'influence-lens test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { path: 'model', fingerprint: 'm', architecture: 'llama' },
    corpus: { path: join(dir, 'absent.jsonl'), fingerprint: 'c', documents: N, skipped: 0, skippedIssues: [] },
    factors: { path: 'factors', strategy: 'ekfac', fisher: 'sampled', documents: N, tokens: N },
    strategy: 'ekfac',
    damping: { 'layers.0.mlp.down': 1e-3 },
    rank: null,
    method: { scoring: 'exact', contraction: { 'layers.0.mlp.down': 'dense' }, maxLen: 64, shard: null },
    documents: Array.from({ length: N }, (_, d) => ({ index: d, id: `d${d}`, source: ['web', 'code', 'wiki'][d % 3], tokens: 1, file: 'c', line: d + 1 })),
    queries: kinds.map((kind, i) => ({
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
    })),
  };
  const results = join(dir, 'results');
  writeResults(
    results,
    meta,
    Float32Array.from({ length: kinds.length * N }, () => rng.normal()),
  );
  writeAnalysis(results, analyze(readResults(results), { permutations: 10 }));
  return results;
}

function panel(): PanelHandler {
  const session = new WarmState({
    status: () => {},
    showError: () => {},
    log: () => {},
    beginProgress: () => Promise.reject(new Error('nothing is loaded in this test')),
  });
  return new PanelHandler(session, new AnswerStore());
}

const aborted = (e: unknown) => e instanceof Error && e.name === 'AbortError';

test('the panel reads a results folder asynchronously, the same as the CLI, and a cancelled request stops the reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-panel-read-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const results = resultsFolder(dir);

  const sync = readResults(results);
  const loaded = await readResultsAsync(results);
  assert.deepEqual(loaded.results, sync.results);
  assert.deepEqual(loaded.scores, sync.scores);
  assert.deepEqual(await readAnalysisAsync(results), readAnalysis(results));

  const view = await panel().batch(results);
  const expected = buildBatchView(sync, readAnalysis(results), { title: results });
  assert.deepEqual(
    { ...view, queries: view.queries.map((q) => ({ ...q, ref: '' })) },
    { ...expected, queries: expected.queries.map((q) => ({ ...q, ref: '' })) },
  );

  // Cancelled once the reads have begun (the request's token fires while its files are being read).
  for (const read of [
    (s: AbortSignal) => panel().batch(results, s),
    (s: AbortSignal) => readResultsAsync(results, s),
    (s: AbortSignal) => readAnalysisAsync(results, s),
  ]) {
    const cancel = new AbortController();
    const reading = read(cancel.signal);
    cancel.abort();
    await assert.rejects(reading, aborted);
  }
});

test("the panel refuses a FIFO in place of a results folder's scores at once, naming it", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-panel-fifo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const results = resultsFolder(dir);
  const scores = join(results, 'scores.f32');
  rmSync(scores);
  execFileSync('mkfifo', [scores]);
  await assert.rejects(panel().batch(results), (e) => isInfluenceLensError(e, 'NOT_A_FILE') && e.message.includes(scores) && e.message.includes('FIFO'));
});
