/**
 * The warm single-prompt engine the language server's hovers use (InfluenceSession): exact answers equal a
 * full scoring run; from the index, the documents shown are rescored exactly; per-token values add up to
 * the score and line up with the text; an over-long prompt is cut to its last tokens.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import { runIndexBuild } from '../../server/src/engine/runs/buildIndex';
import { openFactorSet, type FactorSet } from '../../server/src/engine/runs/factors';
import { runFit } from '../../server/src/engine/runs/fit';
import { InfluenceSession } from '../../server/src/engine/runs/influence';
import { openIndexQueries } from '../../server/src/engine/runs/indexQueries';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { runScore } from '../../server/src/engine/runs/score';
import { assertRelClose } from '../helpers/compare';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { STORY_QUERIES, tempDirs } from '../helpers/influence';

const { tmp, cleanup } = tempDirs('il-session-');
after(cleanup);

let run: ModelRun;
let factors: FactorSet;
let corpus: string;

before(async () => {
  if (SKIP_NO_SHARED) return;
  const dir = tmp();
  corpus = join(dir, 'corpus.jsonl');
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 60);
  writeFileSync(corpus, lines.map((l, i) => JSON.stringify({ ...JSON.parse(l), source: i % 2 ? 'odd' : 'even' })).join('\n') + '\n');
  run = await ModelRun.open({ model: STORIES260K(), tokenizer: TOK512(), backend: 'wasm', workers: 2 });
  await runFit(run, { corpus: { path: corpus }, out: join(dir, 'factors'), maxLen: 128 });
  factors = await openFactorSet(run, join(dir, 'factors'));
});
after(() => run?.dispose());

const query = STORY_QUERIES[0];

test(
  'exact session: the same scores as a scoring run, per-token values that add up and line up with the text',
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const session = await InfluenceSession.create(run, factors, { corpus: { path: corpus } });
    const got = await session.query({ prompt: query.prompt, completion: query.completion, top: 5, bottom: 3 });
    const ref = await runScore(run, factors, { corpus: { path: corpus }, queries: [query] });
    assert.equal(got.method, 'exact');
    assertRelClose(got.scores, ref.scores, 1e-5, 'session vs score run');
    assert.equal(got.nllNats.toFixed(4), ref.results.queries[0].nllNats.toFixed(4));
    assert.deepEqual(
      got.top.map((d) => d.document.index),
      topK(ref.scores, 5).map((j) => ref.results.documents[j].index),
    );
    for (const d of [...got.top, ...got.bottom]) {
      assert.ok(d.exact);
      assert.equal(d.perNat, d.score / got.nllNats);
      assert.ok(d.snippet && d.snippet.bold.length > 0, 'a snippet with a bold span');
    }
    const doc = got.top[0];
    const view = await session.documentInfluence(got.query, doc.document);
    assert.ok(view.original, 'the corpus text itself');
    assertRelClose([view.tokens.reduce((a, t) => a + t.value, 0)], [doc.score], 1e-4, 'token values sum to the score');
    const text = JSON.parse(readFileSync(corpus, 'utf8').split('\n')[doc.document.index]).text as string;
    assert.equal(view.text, text);
    assert.equal(view.tokens.map((t) => text.slice(t.start, t.end)).join(''), text.slice(0, text.length - view.truncatedChars));
    assert.equal(view.tokens.length, doc.document.tokens - 1, 'one value per token after BOS');
  },
);

test("concurrent per-token requests for different queries each get their own query's values", { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const session = await InfluenceSession.create(run, factors, { corpus: { path: corpus } });
  const got = await session.query({ prompt: query.prompt, completion: query.completion, top: 3, bottom: 1 });
  const docs = [...got.top, ...got.bottom].map((d) => d.document);
  const [a, b] = await Promise.all(STORY_QUERIES.slice(0, 2).map((q) => session.prepare({ prompt: q.prompt, completion: q.completion })));
  const values = (r: Awaited<ReturnType<InfluenceSession['documentTokens']>>) => r.map((t) => t!.spans.map((x) => x.value));
  const alone = [values(await session.documentTokens(a, docs)), values(await session.documentTokens(b, docs))];
  assert.notDeepEqual(alone[0], alone[1], 'the two queries give different values');
  // Both in flight at once (a hover and a document view): the threads hold one query at a time.
  const together = (await Promise.all([session.documentTokens(a, docs), session.documentTokens(b, docs)])).map(values);
  assert.deepEqual(together, alone);
});

test(
  'index session: candidates ranked by the rescoring tier, the documents shown scored exactly: the exact top 5 and bottom 3',
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const dir = tmp();
    await runIndexBuild(run, factors, { corpus: { path: corpus }, out: dir });
    const index = await openIndexQueries(run, factors, dir);
    try {
      const session = await InfluenceSession.create(run, factors, { corpus: { path: corpus }, index });
      const ref = await runScore(run, factors, { corpus: { path: corpus }, queries: [query] });
      const exactTop = topK(ref.scores, 5).map((j) => ref.results.documents[j].index);
      const exactBottom = bottomK(ref.scores, 3).map((j) => ref.results.documents[j].index);
      // Candidates from the sketch's best and worst and BM25's best (most of the 61 documents), a margin of 2:
      // the tier's ranking chooses which few are scored token by token.
      const got = await session.query({
        prompt: query.prompt,
        completion: query.completion,
        top: 5,
        bottom: 3,
        rerank: 2,
        candidates: { top: 25, bottom: 15, lexical: 20 },
      });
      assert.equal(got.method, 'index+rescore');
      assert.ok(got.candidates && got.candidates.union <= 60 && got.candidates.lexical > 0, JSON.stringify(got.candidates));
      assert.equal((got.exact as number[]).length, 12, 'the shown documents and 2 more per side scored exactly');
      for (const d of [...got.top, ...got.bottom]) {
        assert.ok(d.exact, `document ${d.document.index} was scored exactly`);
        const j = ref.results.documents.findIndex((x) => x.index === d.document.index);
        assertRelClose([d.score], [ref.scores[j]], 1e-4, `document ${d.document.index}`);
      }
      assert.deepEqual(
        got.top.map((d) => d.document.index),
        exactTop,
        'the exact top 5',
      );
      assert.deepEqual(
        got.bottom.map((d) => d.document.index),
        exactBottom,
        'the exact bottom 3',
      );
      // The other candidates carry the tier's near-exact estimates.
      const position = new Map(ref.results.documents.map((d, j) => [d.index, j]));
      const rel = got.estimated.map(
        (j) => Math.abs(got.scores[j] - ref.scores[position.get(got.documents[j].index)!]) / Math.abs(ref.scores[topK(ref.scores, 1)[0]]),
      );
      assert.ok(rel.length > 10 && Math.max(...rel) < 0.25, `estimates within 25% of the top score: ${Math.max(...rel)}`);
    } finally {
      await index.close();
    }
  },
);

test(
  'an over-long prompt is cut to its last tokens; the greedy completion is generated when none is given',
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const session = await InfluenceSession.create(run, factors, { corpus: { path: corpus }, maxNewTokens: 8 });
    const long = 'Once upon a time, there was a little girl. '.repeat(40);
    const prepared = await session.prepare({ prompt: long });
    assert.ok(prepared.truncatedFrom! > 128, 'cut');
    assert.ok(prepared.promptTokens.length + prepared.completionTokens.length <= 128);
    assert.ok(prepared.generated && prepared.completionTokens.length > 0);
  },
);
