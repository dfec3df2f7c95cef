/**
 * Stale pairings of artefacts: an index used over another corpus than it was built on, results read with
 * a corpus whose text changed since scoring, and a merge of an incomplete shard set. Each artefact records
 * what it was made from (the corpus fingerprint); each consumer compares it and refuses, or says the text
 * changed, instead of pairing one corpus's numbers with another's text. The language server is driven over
 * stdio. Good input then works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PanelBatchRequest, PanelQueryRequest } from '../../server/src/protocol';
import { readAnalysis } from '../../server/src/engine/analysis/analyze';
import { readManifest as readIndexManifest } from '../../server/src/engine/gradindex/store';
import { readResults } from '../../server/src/engine/results/io';
import type { ReportData } from '../../server/src/common/views';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { assertRefused, FAST, fitTiny, modelArgs, runBounded, scoreTiny, storyLines, writeCorpus, writeQueries } from '../helpers/badInput';
import { changeSettings, initialize, startServer } from '../helpers/lsp';

let dir: string;
let corpus: string;
let queries: string;
let factors: string;
let index: string;
let results: string;

/** The same documents (ids, sources, order) with other text: every story now ends with the query's answer. */
function editedCopy(name: string): string {
  const folder = join(dir, name);
  mkdirSync(folder, { recursive: true });
  const path = join(folder, 'corpus.jsonl'); // the same file name: only the text differs
  const lines = storyLines(8).map((l) => {
    const doc = JSON.parse(l) as { text: string };
    return JSON.stringify({ ...doc, text: `${doc.text} Her name was Lily.` });
  });
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-bad-pairings-'));
  corpus = writeCorpus(dir, 8);
  queries = writeQueries(dir, [
    { id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.', answer: 'Lily', kind: 'factual' },
    { id: 'park', prompt: 'One day, Tom went to the', completion: ' park.', answer: 'park', kind: 'reasoning' },
  ]);
  factors = join(dir, 'factors');
  await fitTiny(corpus, factors);
  index = join(dir, 'index');
  const built = await runBounded(['index', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--out', index, ...FAST]);
  assert.equal(built.code, 0, built.stderr);
  results = join(dir, 'results');
  assert.equal((await scoreTiny(corpus, factors, queries, results)).code, 0);
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

test(
  "score --index over another corpus is refused naming both (it paired the index's documents with the other corpus's text); its own corpus scores",
  { skip: SKIP_NO_SHARED },
  async () => {
    const others = join(dir, 'others');
    mkdirSync(others);
    const other = writeCorpus(others, 0, storyLines(16).slice(8)); // eight other stories
    const edited = editedCopy('edited-for-index'); // the same ids, other text
    for (const c of [other, edited]) {
      const out = join(dir, 'indexed', 'results');
      const r = await scoreTiny(c, factors, queries, out, ['--index', index, '--rerank', '5']);
      assertRefused(r, 1, index, c, 'was built on another corpus', 'rebuild the index');
      assert.ok(!existsSync(join(dir, 'indexed')), 'no results folder is left');
    }
    const out = join(dir, 'indexed', 'results');
    const ok = await scoreTiny(corpus, factors, queries, out, ['--index', index, '--rerank', '5']);
    assert.equal(ok.code, 0, ok.stderr);
    const scored = readResults(out).results;
    assert.equal(scored.documents.length, 8);
    assert.equal(scored.corpus.fingerprint, readIndexManifest(index).corpus.fingerprint);
  },
);

test(
  'analyze and report with a corpus whose text changed since scoring (same ids) say so and use none of it (answers in the top 5 went from 0% to 100%)',
  { skip: SKIP_NO_SHARED },
  async () => {
    const edited = editedCopy('edited');
    const analyze = (c: string) => runBounded(['analyze', '--results', results, '--corpus', c, '--permutations', '0']);
    const changed = await analyze(edited);
    assert.equal(changed.code, 0, changed.stderr);
    assert.ok(changed.stderr.includes(`answer analysis skipped: the corpus at ${edited} is not the one scored`), changed.stderr);
    assert.ok(changed.stderr.includes(join(results, 'results.json')), 'names the results file that records the fingerprint');
    const skipped = readAnalysis(results).answers;
    assert.equal(skipped.available, false, 'no answer rates computed from the edited text');
    assert.match(changed.stdout, /4\. Answer[^\n]*\n {2}skipped: the corpus at .* is not the one scored/);

    const out = join(dir, 'changed.html');
    const report = await runBounded(['report', '--results', results, '--corpus', edited, '--out', out]);
    assert.equal(report.code, 0, report.stderr);
    assert.ok(report.stderr.includes(`cards without snippets: the corpus at ${edited} is not the one scored`), report.stderr);
    assert.equal(snippets(out), 0, 'no card shows the edited text');

    // The corpus that was scored: answers and snippets are back.
    const good = await analyze(corpus);
    assert.equal(good.code, 0, good.stderr);
    assert.doesNotMatch(good.stderr, /skipped/);
    assert.equal(readAnalysis(results).answers.available, true);
    const again = await runBounded(['report', '--results', results, '--corpus', corpus, '--out', out, '--quiet']);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(snippets(out) > 0);
  },
);

test(
  'merge --results refuses an incomplete shard set naming what is missing (shard 0 of 2 alone made a half corpus); the full set merges and says so',
  { skip: SKIP_NO_SHARED },
  async () => {
    const part = (i: number) => join(dir, `shard-${i}`);
    for (const i of [0, 1]) assert.equal((await scoreTiny(corpus, factors, queries, part(i), ['--shard', `${i}/2`])).code, 0);
    const out = join(dir, 'merged');
    const alone = await runBounded(['merge', '--results', part(0), '--out', out]);
    assertRefused(alone, 1, part(0), 'missing 1/2');
    assert.ok(!existsSync(out), 'nothing written, no folder left');
    const twice = await runBounded(['merge', '--results', part(0), '--results', part(0), '--out', out]);
    assertRefused(twice, 1, 'shard 0/2 is given twice');
    const whole = await runBounded(['merge', '--results', results, '--results', part(0), '--out', out]);
    assertRefused(whole, 1, results, 'is not a shard');
    assert.ok(!existsSync(out));
    // analyze refuses a shard on its own.
    assertRefused(await runBounded(['analyze', '--results', part(0)]), 1, part(0), 'shard 0/2', 'merge every shard first');
    assert.ok(!existsSync(join(part(0), 'analysis.json')));

    const ok = await runBounded(['merge', '--results', part(1), '--results', part(0), '--out', out]);
    assert.equal(ok.code, 0, ok.stderr);
    const merged = readResults(out).results;
    assert.equal(merged.documents.length, 8);
    assert.equal(merged.method.shard, null);
    assert.equal(merged.method.mergedShards, 2);
    assert.deepEqual(readResults(out).scores, readResults(results).scores);
    assert.equal((await runBounded(['analyze', '--results', out, '--permutations', '0', '--quiet'])).code, 0);
  },
);

test('merge --index refuses an incomplete shard set, and a shard index is not scored from', { skip: SKIP_NO_SHARED }, async () => {
  const part = (i: number) => join(dir, `index-shard-${i}`);
  for (const i of [0, 1]) {
    const r = await runBounded(['index', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--out', part(i), '--shard', `${i}/2`, ...FAST]);
    assert.equal(r.code, 0, r.stderr);
  }
  const out = join(dir, 'merged-index');
  assertRefused(await runBounded(['merge', '--index', part(1), '--out', out]), 1, part(1), 'missing 0/2');
  assert.ok(!existsSync(join(out, 'manifest.json')));
  assertRefused(await scoreTiny(corpus, factors, queries, join(dir, 'from-shard'), ['--index', part(0)]), 1, part(0), 'is shard 0/2');
  const ok = await runBounded(['merge', '--index', part(0), '--index', part(1), '--out', out]);
  assert.equal(ok.code, 0, ok.stderr);
  const scored = await scoreTiny(corpus, factors, queries, join(dir, 'from-merged'), ['--index', out]);
  assert.equal(scored.code, 0, scored.stderr);
});

test(
  'the language server shows an index built on another corpus as an index error with the reason, and the panel says when the text changed',
  { skip: SKIP_NO_SHARED, timeout: 240_000 },
  async (t) => {
    const edited = editedCopy('edited-for-server');
    const settings = (c: string) => ({ backend: 'wasm', workers: 1, model: STORIES260K(), tokenizer: TOK512(), corpus: c, factors, index });
    const server = startServer(settings(edited));
    t.after(() => {
      server.connection.dispose();
      if (server.process.exitCode === null) server.process.kill();
    });
    await initialize(server);
    const refused = await server.statuses.next((s) => s.state === 'ready' && s.index?.state === 'error');
    assert.ok(refused.index!.detail!.includes('was built on another corpus'), refused.index!.detail);
    assert.ok(refused.index!.detail!.includes(edited), refused.index!.detail);
    assert.match(refused.message, /hovers score exactly/);

    // The panel reads a results folder's text from the corpus path it records: edit that corpus in place
    // (same ids, other text), then restore it.
    assert.equal((await runBounded(['analyze', '--results', results, '--permutations', '0', '--quiet'])).code, 0);
    const original = readFileSync(corpus);
    writeFileSync(corpus, readFileSync(edited));
    try {
      const batch = await server.connection.sendRequest(PanelBatchRequest.type, { results });
      const view = await server.connection.sendRequest(PanelQueryRequest.type, { ref: batch.queries[0].ref });
      assert.ok(view.top.cards.length > 0);
      for (const card of [...view.top.cards, ...view.bottom.cards]) {
        assert.equal(card.snippet, undefined, 'no edited text on a card');
        assert.ok(card.noText?.includes('is not the one scored'), card.noText);
      }
    } finally {
      writeFileSync(corpus, original);
    }
    const batch = await server.connection.sendRequest(PanelBatchRequest.type, { results });
    const view = await server.connection.sendRequest(PanelQueryRequest.type, { ref: batch.queries[0].ref });
    assert.ok(view.top.cards.every((c) => c.snippet !== undefined && c.noText === undefined));

    // The corpus the index was built on: the index is ready.
    const from = await changeSettings(server, settings(corpus));
    await server.statuses.next((s) => s.state === 'ready' && s.index?.state === 'ready', from);
    await server.connection.sendRequest('shutdown');
    await server.connection.sendNotification('exit');
    assert.equal(await server.exited, 0, server.stderr());
  },
);

function snippets(file: string): number {
  const json = readFileSync(file, 'utf8').match(/<script type="application\/json" id="influence-lens-report">([^<]*)<\/script>/)![1];
  const data = JSON.parse(json) as ReportData;
  return Object.values(data.cards)
    .flatMap((c) => [...c.top, ...c.bottom])
    .filter((c) => c.snippet).length;
}
