/**
 * What a hover shows against the exact answer, through the real language server over stdio, on the demo
 * model and a reduced demo corpus (every 8th document: 500) with its factors and index built by the
 * server's own commands, for ten demo queries (the model's own completions) against full-rank EK-FAC over
 * every document: with a quarter of the documents as candidates (hover.candidates 120) most of the exact
 * top 5 and bottom 3 are shown and every shown score is exact; with every document a candidate and a
 * margin of 5 (hover.rerank), the shown top 5 and bottom 3 are the exact ones for all ten — the tier ranks
 * the exact ones within the few documents scored token by token.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../../demo/src/corpus/generate';
import { DEMO_PATHS } from '../../demo/src/run';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import { parseQueries } from '../../server/src/engine/queries/read';
import { openFactorSet } from '../../server/src/engine/runs/factors';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { prepareQueries } from '../../server/src/engine/runs/queries';
import { scoreCorpus } from '../../server/src/engine/score/score';
import { InfluenceHoverRequest, SERVER_COMMANDS, type HoverAnswer } from '../../server/src/protocol';
import { tempDirs } from '../helpers/influence';
import { changeSettings, initialize, startServer } from '../helpers/lsp';

const { tmp, cleanup } = tempDirs('il-hover-exact-');

test('hovers on ten demo queries show the exact top 5 and bottom 3 with their exact scores', { timeout: 1_800_000 }, async (t) => {
  t.after(cleanup);
  const dir = tmp();
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).filter((_, i) => i % 8 === 0)));
  const settings = {
    backend: 'wasm',
    workers: 2,
    model: DEMO_PATHS.model,
    corpus,
    factors: join(dir, 'factors'),
    index: join(dir, 'index'),
    maxLength: 256,
    hover: { top: 5, bottom: 3, candidates: 120 },
  };
  const server = startServer(settings);
  t.after(() => {
    if (server.process.exitCode === null) server.process.kill();
  });
  await initialize(server, { rootUri: pathToFileURL(dir).href, initializationOptions: { storageDir: join(dir, 'storage'), trusted: true } });
  await server.statuses.next((s) => s.state === 'ready' && s.model !== undefined);
  await server.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] });
  await server.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.buildIndex, arguments: [] });
  await server.statuses.next((s) => s.index?.state === 'ready');

  // Ten demo queries: the factual, reasoning and control kinds alike (every 10th of the file).
  const records = parseQueries(readFileSync(DEMO_PATHS.queries, 'utf8'), DEMO_PATHS.queries)
    .filter((_, i) => i % 10 === 0)
    .slice(0, 10);
  const uri = pathToFileURL(join(dir, 'prompt.txt')).href;
  let version = 0;
  const hovers = async (candidates: number): Promise<HoverAnswer[]> => {
    const answers: HoverAnswer[] = [];
    for (const r of records) {
      await server.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: ++version, text: r.prompt } });
      const lines = r.prompt.split('\n');
      const range = { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: lines[lines.length - 1].length } };
      const h = await server.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri }, range });
      assert.ok(h?.answer, `hover on ${r.id}: ${h?.markdown}`);
      assert.equal(h.answer.method, 'index+rescore');
      assert.ok(h.answer.candidates!.union <= candidates && h.answer.candidates!.lexical > 0);
      answers.push(h.answer);
    }
    return answers;
  };
  const some = await hovers(120);
  const changed = await changeSettings(server, { ...settings, hover: { top: 5, bottom: 3, candidates: 500, rerank: 5 } });
  await server.statuses.next((s) => s.state === 'ready' && s.index?.state === 'ready', changed);
  const all = await hovers(500);
  assert.deepEqual(
    all.map((a) => a.completion),
    some.map((a) => a.completion),
    'the same completions',
  );

  // Exact full-rank EK-FAC over every document, for the same prompts and completions.
  const run = await ModelRun.open({ model: DEMO_PATHS.model, backend: 'wasm', workers: 2 });
  t.after(() => run.dispose());
  const factors = await openFactorSet(run, settings.factors);
  const same = records.map((r, i) => ({ ...r, completion: some[i].completion }));
  const { queries } = await prepareQueries(run, same, { maxLen: factors.maxLen });
  const exact = await scoreCorpus({
    pool: run.pool,
    tokenizer: run.tokenizer,
    bos: run.bos,
    corpus: { path: corpus },
    factors: factors.factors,
    queries,
    maxLen: factors.maxLen,
    selfInfluence: false,
  });
  const D = exact.documents.length;
  const index = (j: number) => exact.documents[j].index;
  let found = 0;
  records.forEach((r, q) => {
    const row = exact.scores.subarray(q * D, (q + 1) * D);
    const [top, bottom] = [topK(row, 5).map(index), bottomK(row, 3).map(index)];
    for (const d of [...some[q].top, ...some[q].bottom, ...all[q].top, ...all[q].bottom]) {
      assert.ok(d.exact);
      const j = exact.documents.findIndex((x) => x.index === d.index);
      assert.ok(
        Math.abs(d.perNat * some[q].nllNats - row[j]) <= 1e-3 * Math.abs(row[topK(row, 1)[0]]),
        `${r.id}: document ${d.id} scores ${d.perNat * some[q].nllNats}, exactly ${row[j]}`,
      );
    }
    found += some[q].top.filter((d) => top.includes(d.index)).length + some[q].bottom.filter((d) => bottom.includes(d.index)).length;
    assert.deepEqual(
      all[q].top.map((d) => d.index),
      top,
      `${r.id}: the exact top 5`,
    );
    assert.deepEqual(
      all[q].bottom.map((d) => d.index),
      bottom,
      `${r.id}: the exact bottom 3`,
    );
  });
  // A quarter of the documents as candidates: most of the exact ones (the demo's figures: docs/INDEX.md).
  console.log(`# 120 candidates: ${found} of the 80 exact top-5 and bottom-3 documents shown`);
  assert.ok(found >= 64, `${found} of 80`);
});
