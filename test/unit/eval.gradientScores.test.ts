/**
 * Several gradient methods scored in one stacked corpus pass equal the engine's own one-method scoring
 * (stories260K + TinyStories): EK-FAC, identity, K-FAC built from the EK-FAC fit equals a kfac fit, and
 * cosine is identity ÷ (‖g_q‖ ‖g_d‖) with ‖g_d‖² the identity self-influence.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../server/src/engine/device/backend';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { kfacModules, scoreGradientMethods } from '../../server/src/engine/eval/gradientScores';
import { bosId, openModel, stopIds, type OpenedModel } from '../../server/src/engine/model/openModel';
import { resolveQueries } from '../../server/src/engine/score/queries';
import { fit, identityFor, score, withPool, writeJsonlCorpus, STORY_QUERIES, tempDirs, type Setup } from '../helpers/influence';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const QUERIES = STORY_QUERIES.slice(0, 3);
let model: OpenedModel;
let corpus: string;
const { tmp, cleanup } = tempDirs('il-evalgrad-');
const setup = (): Setup => ({ model, corpus, settings: { maxLen: 64 }, workers: 2 });

before(async () => {
  if (SKIP_NO_SHARED) return;
  await initBackend('wasm');
  model = await openModel(STORIES260K(), TOK512());
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 24);
  corpus = writeJsonlCorpus(lines.map((l) => JSON.parse(l) as { text: string; source: string }));
});

test.after(cleanup);

function assertClose(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  let scale = 0;
  for (const x of b) scale = Math.max(scale, Math.abs(x));
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= 2e-4 * scale, `${what}[${i}]: ${a[i]} vs ${b[i]}`);
}

test(
  'stacked methods in one pass equal one-method scoring; K-FAC from the EK-FAC fit equals a kfac fit; cosine',
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const dirs = { ekfac: tmp(), kfac: tmp(), identity: tmp() };
    await fit(setup(), 'ekfac', dirs.ekfac);
    await fit(setup(), 'kfac', dirs.kfac);
    await fit(setup(), 'identity', dirs.identity);
    const exact = {
      ekfac: await score(setup(), dirs.ekfac, QUERIES),
      kfac: await score(setup(), dirs.kfac, QUERIES),
      identity: await score(setup(), dirs.identity, QUERIES, { selfInfluence: true }),
    };
    const id = await identityFor(setup(), 'ekfac');
    const ekfac = await loadFactors(dirs.ekfac, { model: id.model });
    const stacked = await withPool(setup(), async (pool) => {
      const queries = await resolveQueries(QUERIES, {
        pool,
        tokenizer: model.tokenizer,
        bos: bosId(model),
        stopIds: stopIds(model),
        maxNewTokens: 16,
        maxLen: 64,
      });
      return scoreGradientMethods({
        pool,
        tokenizer: model.tokenizer,
        bos: bosId(model),
        corpus: { path: corpus },
        queries,
        sides: [
          { name: 'ekfac', strategy: 'ekfac', factors: ekfac.modules },
          { name: 'kfac', strategy: 'kfac', factors: kfacModules(ekfac.modules) },
          { name: 'identity', strategy: 'identity' },
        ],
        norms: true,
        maxLen: 64,
        // Small enough to force one pass per method: the passes must agree with each other too.
        maxQueryBytes: 1,
      });
    });
    assertClose(stacked.scores.get('ekfac')!, exact.ekfac.scores, 'ekfac');
    assertClose(stacked.scores.get('kfac')!, exact.kfac.scores, 'kfac');
    assertClose(stacked.scores.get('identity')!, exact.identity.scores, 'identity');
    const D = stacked.documents.length;
    stacked.documentNorms!.forEach((n, d) => assert.ok(Math.abs(n * n - exact.identity.self![d]) <= 1e-4 * exact.identity.self![d], `‖g_d‖² of ${d}`));
    // ‖g_q‖² is the query's identity score against itself: check through Cauchy–Schwarz bounds and a scale.
    for (let q = 0; q < QUERIES.length; q++) {
      for (let d = 0; d < D; d++) {
        const cos = stacked.scores.get('identity')![q * D + d] / (stacked.queryNorms![q] * stacked.documentNorms![d]);
        assert.ok(Math.abs(cos) <= 1 + 1e-5, `|cos| ${cos}`);
      }
    }
  },
);
