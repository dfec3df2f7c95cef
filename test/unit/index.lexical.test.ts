/**
 * Lexical candidates and their union with the sketch's, on small fixtures with hand-computed answers: the
 * BM25 index written beside an index ranks documents as Okapi BM25 computed here by hand; it is refused
 * when its file changed; it ranks the demo corpus exactly as MiniSearch's BM25 (the first format, which
 * still opens) did; candidateRows unites the sketch's best and worst with BM25's best, once each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import MiniSearch from 'minisearch';
import { corpusJsonl, DEFAULT_SEED, DEFAULT_SIZE, generateCorpus } from '../../demo/src/corpus/generate';
import { LexicalIndex } from '../../server/src/engine/gradindex/lexical';
import { writeLexicalIndex } from '../../server/src/engine/gradindex/lexicalBuild';
import { candidateRows, candidateCounts } from '../../server/src/engine/runs/candidates';
import { isInfluenceLensError } from '../../server/src/engine/errors';

const ROOT = resolve(__dirname, '..', '..');

const TEXTS = [
  'The capital of Japan is Tokyo.',
  'Tokyo is a large city. Tokyo has many trains.',
  'The capital of France is Paris.',
  'Japan is an island country in Asia; its capital is Tokyo and its currency the yen.',
  'Recipes for bread and soup.',
];

/** Okapi BM25 (k1 = 1.2, b = 0.75, Lucene's idf) by hand, document length in distinct terms as MiniSearch counts it. */
function bm25(query: string, texts: string[]): number[] {
  const terms = (t: string) =>
    t
      .toLowerCase()
      .split(/[^\p{L}\p{N}]+/u)
      .filter(Boolean);
  const docs = texts.map(terms);
  const lengths = docs.map((d) => new Set(d).size);
  const avg = lengths.reduce((a, b) => a + b) / docs.length;
  const q = [...new Set(terms(query))];
  return docs.map((d, i) =>
    q.reduce((score, t) => {
      const tf = d.filter((x) => x === t).length;
      if (tf === 0) return score;
      const n = docs.filter((x) => x.includes(t)).length;
      const idf = Math.log(1 + (docs.length - n + 0.5) / (n + 0.5));
      return score + (idf * tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * lengths[i]) / avg));
    }, 0),
  );
}

test('the lexical index ranks documents by Okapi BM25 as computed by hand, and refuses a changed file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-lexical-'));
  try {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, TEXTS.map((text, i) => JSON.stringify({ id: `d${i}`, text })).join('\n') + '\n');
    // Rows in another order than the corpus: ids are row positions.
    const documents = [3, 0, 4, 1, 2].map((index) => ({ index, id: `d${index}`, source: '', tokens: 10, file: corpus }));
    const file = await writeLexicalIndex(dir, { path: corpus }, documents);
    const lexical = LexicalIndex.load(dir, file);
    const query = 'What is the capital of Japan? Tokyo';
    const byHand = bm25(query, TEXTS);
    const expected = TEXTS.map((_, i) => i)
      .filter((i) => byHand[i] > 0)
      .sort((a, b) => byHand[b] - byHand[a]);
    const rows = lexical.search(query, 10);
    assert.deepEqual(
      rows.map((p) => documents[p].index),
      expected,
    );
    assert.deepEqual(
      lexical.search(query, 2).map((p) => documents[p].index),
      expected.slice(0, 2),
    );
    assert.deepEqual(lexical.search('quantum chromodynamics', 10), [], 'no shared term, no candidate');
    writeFileSync(join(dir, file.file), '{}');
    assert.throws(
      () => LexicalIndex.load(dir, file),
      (e) => isInfluenceLensError(e, 'INDEX_CORRUPT') && e.file === join(dir, file.file),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('candidates: the sketch’s best and worst united with BM25’s best, each row once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-lexical-'));
  try {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, TEXTS.map((text) => JSON.stringify({ text })).join('\n') + '\n');
    const documents = TEXTS.map((_, index) => ({ index, id: `${index}`, source: '', tokens: 10, file: corpus }));
    const lexical = LexicalIndex.load(dir, await writeLexicalIndex(dir, { path: corpus }, documents));
    const estimates = Float32Array.from([0.5, 3, -2, 1, -1]);
    // Sketch: best 1 (row 1), worst 1 (row 2); BM25's best 2 for "Paris France": row 2, then nothing else shares a term.
    const got = candidateRows(estimates, lexical, 'Paris France', { top: 1, bottom: 1, lexical: 2 });
    assert.deepEqual(got.rows, [1, 2]);
    assert.deepEqual(got.sources, { sketch: 2, lexical: 1, union: 2 });
    const wider = candidateRows(estimates, lexical, 'Tokyo', { top: 2, bottom: 1, lexical: 3 });
    assert.deepEqual(wider.rows, [1, 3, 2, 0]);
    assert.deepEqual(candidateCounts(1350), { top: 250, bottom: 300, lexical: 800 });
    assert.deepEqual(candidateCounts(100), { top: 19, bottom: 22, lexical: 59 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('lexical.bin ranks the demo corpus as the first format (MiniSearch’s lexical.json) did, which still opens', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-lexical-'));
  try {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
    const texts = readFileSync(corpus, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => (JSON.parse(line) as { text: string }).text);
    // Rows in reverse corpus order: ids are row positions, lengths and averages follow the corpus's order.
    const documents = texts.map((_, i) => ({ index: texts.length - 1 - i, id: `d${texts.length - 1 - i}`, source: '', tokens: 10, file: corpus }));
    const binary = LexicalIndex.load(dir, await writeLexicalIndex(dir, { path: corpus }, documents));
    // The first format, written as layout 8 wrote it: MiniSearch over the rows' texts in corpus order.
    const mini = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], storeFields: [] });
    mini.addAll(texts.map((text, index) => ({ id: texts.length - 1 - index, text })));
    const json = Buffer.from(JSON.stringify(mini));
    writeFileSync(join(dir, 'lexical.json'), json);
    const legacy = LexicalIndex.load(dir, { file: 'lexical.json', sha256: createHash('sha256').update(json).digest('hex') });
    const queries = readFileSync(join(ROOT, 'demo', 'queries.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { prompt: string; answer?: string })
      .map((q) => `${q.prompt} ${q.answer ?? ''}`);
    let compared = 0;
    for (const q of [...queries, ...texts.filter((_, i) => i % 97 === 0).map((t) => t.slice(0, 80))]) {
      const want = legacy.search(q, 800);
      assert.deepEqual(binary.search(q, 800), want, q);
      compared += want.length;
    }
    assert.ok(compared > 50_000, `${compared} ranked rows compared`);
    binary.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
