/**
 * A property of every artefact kind (factors, results, index): under random corruption of any of its
 * files — one flipped bit, a truncation, an edited JSON number — loading either refuses with an
 * InfluenceLensError that names the damaged file, or yields exactly the undamaged artefact's numbers.
 * Never different numbers without an error. Seeded; a fixed number of trials per kind.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cpSync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { loadFactors, type LoadedFactors } from '../../server/src/engine/ekfac/load';
import { IndexSearcher } from '../../server/src/engine/gradindex/search';
import { LexicalIndex } from '../../server/src/engine/gradindex/lexical';
import { RescoreReader } from '../../server/src/engine/gradindex/rescore/store';
import { quantizeQuery, type IndexQuery } from '../../server/src/engine/gradindex/scan';
import { DEFAULT_SKETCH } from '../../server/src/engine/gradindex/sketch';
import { openModel } from '../../server/src/engine/model/openModel';
import { readResults, writeResults } from '../../server/src/engine/results/io';
import type { ResultsMeta } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';
import { fit, identityFor, score, STORY_QUERIES, tempDirs, writeJsonlCorpus, type Setup } from '../helpers/influence';
import { buildTestIndex } from '../helpers/gradientIndex';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const TRIALS = 40;
const { tmp, cleanup } = tempDirs('il-corrupt-');

let setup: Setup;
let modelId: { fingerprint: string; path: string; architecture: string };
let factorsDir: string;
let resultsDir: string;
let indexDir: string;
let factors: LoadedFactors;
let query: IndexQuery;

before(async () => {
  if (SKIP_NO_SHARED) return;
  await initBackend('wasm');
  const model = await openModel(STORIES260K(), TOK512());
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 8);
  setup = { model, corpus: writeJsonlCorpus(lines.map((l) => JSON.parse(l) as { text: string; source: string })), settings: { maxLen: 32 }, workers: 1 };
  modelId = (await identityFor(setup, 'ekfac')).model;
  factorsDir = tmp();
  await fit(setup, 'ekfac', factorsDir);
  factors = await loadFactors(factorsDir, { model: modelId });

  const scored = await score(setup, factorsDir, STORY_QUERIES.slice(0, 2), { selfInfluence: true });
  const meta: ResultsMeta = {
    tool: 'test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: modelId,
    corpus: { path: setup.corpus, fingerprint: 'c', documents: scored.documents.length, skipped: 0, skippedIssues: [] },
    factors: { path: factorsDir, strategy: 'ekfac', fisher: 'sampled', documents: 8, tokens: 256 },
    strategy: 'ekfac',
    damping: scored.damping,
    rank: scored.rank,
    method: { scoring: 'exact', contraction: scored.contraction, maxLen: 32, shard: null },
    documents: scored.documents.map(({ index, id, source, tokens, file, line }) => ({ index, id, source, tokens, file, line })),
    queries: scored.queries.map((q) => ({
      id: q.record.id,
      kind: 'factual',
      task: null,
      prompt: q.record.prompt,
      completion: q.completion,
      generated: q.generated,
      answer: null,
      nllNats: q.nllNats,
      promptTokens: q.promptTokens,
      completionTokens: q.completionTokens,
    })),
  };
  resultsDir = tmp();
  writeResults(resultsDir, meta, scored.scores, scored.self);

  indexDir = tmp();
  await buildTestIndex(setup, factorsDir, indexDir, DEFAULT_SKETCH, undefined, 20_000); // several chunks
  const rng = new Rng(5);
  const searcher = IndexSearcher.open(indexDir, { modelFingerprint: modelId.fingerprint, factors });
  query = quantizeQuery(
    Float32Array.from({ length: searcher.queryDim }, () => rng.normal()),
    searcher.manifest,
  );
});

after(cleanup);

type Mutation = 'flip' | 'truncate' | 'number';

/** Damages one file of a copy of `dir`; returns the damaged file's path and what was done. */
function corruptCopy(dir: string, rng: Rng): { copy: string; file: string; what: string } {
  const copy = tmp();
  cpSync(dir, copy, { recursive: true });
  const files = listFiles(copy);
  const file = files[Math.floor(rng.next() * files.length)];
  const bytes = readFileSync(file);
  const kinds: Mutation[] = file.endsWith('.json') ? ['flip', 'truncate', 'number'] : ['flip', 'truncate'];
  const kind = kinds[Math.floor(rng.next() * kinds.length)];
  if (kind === 'truncate') {
    const at = Math.floor(rng.next() * bytes.length);
    truncateSync(file, at);
    return { copy, file, what: `truncated at ${at} of ${bytes.length}` };
  }
  if (kind === 'flip') {
    const at = Math.floor(rng.next() * bytes.length);
    const bit = Math.floor(rng.next() * 8);
    bytes[at] ^= 1 << bit;
    writeFileSync(file, bytes);
    return { copy, file, what: `bit ${bit} of byte ${at} flipped` };
  }
  const text = bytes.toString('utf8');
  const numbers = [...text.matchAll(/-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g)];
  const m = numbers[Math.floor(rng.next() * numbers.length)];
  const value = Number(m[0]);
  const edited = String(rng.next() < 0.5 ? value + 1 : value * (1 + rng.next()) + 1e-3);
  writeFileSync(file, text.slice(0, m.index) + edited + text.slice(m.index! + m[0].length));
  return { copy, file, what: `number ${m[0]} at ${m.index} → ${edited}` };
}

/** sha256 of every typed array's bytes, in place (exact equality, cheaper to compare than the arrays). */
function digest(value: unknown): unknown {
  if (ArrayBuffer.isView(value))
    return createHash('sha256')
      .update(new Uint8Array(value.buffer, value.byteOffset, value.byteLength))
      .digest('hex');
  if (Array.isArray(value)) return value.map(digest);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, digest(v)]));
  return value;
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
    .sort();
}

/** Loads the damaged copy: refused naming the file, or equal to the undamaged load. */
async function check(kind: string, dir: string, load: (dir: string) => Promise<unknown> | unknown, seed: number): Promise<{ refused: number; same: number }> {
  const expected = await load(dir);
  const rng = new Rng(seed);
  const tally = { refused: 0, same: 0 };
  for (let trial = 0; trial < TRIALS; trial++) {
    const { copy, file, what } = corruptCopy(dir, rng);
    const where = `${kind} trial ${trial}: ${relative(copy, file)} ${what}`;
    let loaded: unknown;
    try {
      loaded = await load(copy);
    } catch (e) {
      assert.ok(isInfluenceLensError(e), `${where}: not a clear refusal: ${String((e as Error).stack ?? e)}`);
      assert.ok(e.file === file || e.message.includes(file), `${where}: the refusal does not name the file: ${e.message} (${e.file})`);
      tally.refused++;
      continue;
    }
    assert.deepEqual(loaded, expected, `${where}: loaded with different numbers`);
    tally.same++;
  }
  return tally;
}

test('corrupted factors are refused naming the file, or load identical', { skip: SKIP_NO_SHARED }, async () => {
  const tally = await check(
    'factors',
    factorsDir,
    async (dir) => {
      const f = await loadFactors(dir, { model: modelId });
      return { manifest: f.manifest, modules: digest(f.modules) };
    },
    1,
  );
  assert.ok(tally.refused > TRIALS / 2, JSON.stringify(tally));
});

test('corrupted results are refused naming the file, or load identical', { skip: SKIP_NO_SHARED }, async () => {
  const tally = await check(
    'results',
    resultsDir,
    (dir) => {
      const { results, scores, self } = readResults(dir);
      return { results, scores: digest(scores), self: digest(self) };
    },
    2,
  );
  assert.ok(tally.refused > TRIALS / 2, JSON.stringify(tally));
});

test('a corrupted index is refused naming the file, or scores identically', { skip: SKIP_NO_SHARED }, async () => {
  const tally = await check(
    'index',
    indexDir,
    (dir) => {
      const searcher = IndexSearcher.open(dir, { modelFingerprint: modelId.fingerprint, factors });
      const m = searcher.manifest;
      // What a hover reads besides the rows: every row of the rescoring tier, and the BM25 index.
      const reader = new RescoreReader(dir, m.rescore!, m.rescore!.chunks);
      try {
        const tier = reader.read(searcher.documents.map((_, p) => p));
        const lexical = LexicalIndex.load(dir, m.lexical!).search('Once upon a time there was a little girl', 20);
        return { manifest: m, documents: searcher.documents, scores: digest(searcher.scores(query)), tier: digest(tier), lexical };
      } finally {
        reader.close();
      }
    },
    3,
  );
  assert.ok(tally.refused > TRIALS / 2, JSON.stringify(tally));
});
