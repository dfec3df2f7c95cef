/**
 * The document view says where a document is, for every corpus format: "file:line" for JSONL (1-based),
 * "file row N" for Parquet (0-based, as pandas and `datasets` count), through a real InfluenceSession and
 * the server's documentView handler. The Parquet corpus is a folder of two shards, so a row is not the
 * corpus index.
 */
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { documentView } from '../../server/src/handlers/documentView';
import { AnswerStore } from '../../server/src/refs';
import { openFactorSet, type FactorSet } from '../../server/src/engine/runs/factors';
import { runFit } from '../../server/src/engine/runs/fit';
import { InfluenceSession } from '../../server/src/engine/runs/influence';
import { ModelRun } from '../../server/src/engine/runs/modelRun';
import { jsonlOf, parquetOf, sampleDocs } from '../helpers/corpusFormats';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { STORY_QUERIES, tempDirs } from '../helpers/influence';

const { tmp, cleanup } = tempDirs('il-docview-');
after(cleanup);

const docs = sampleDocs(24);
const HALF = 12;
let run: ModelRun;
let factors: FactorSet;
let dir: string;

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = tmp();
  writeFileSync(join(dir, 'corpus.jsonl'), jsonlOf(docs));
  mkdirSync(join(dir, 'shards', 'data'), { recursive: true });
  writeFileSync(join(dir, 'shards', 'data', 'train-00000-of-00002.parquet'), parquetOf(docs.slice(0, HALF), { rowGroupSize: 5 }));
  writeFileSync(join(dir, 'shards', 'data', 'train-00001-of-00002.parquet'), parquetOf(docs.slice(HALF), { rowGroupSize: 5 }));
  run = await ModelRun.open({ model: STORIES260K(), tokenizer: TOK512(), backend: 'wasm', workers: 1 });
  await runFit(run, { corpus: { path: join(dir, 'corpus.jsonl') }, out: join(dir, 'factors'), maxLen: 64 });
  factors = await openFactorSet(run, join(dir, 'factors'));
});
after(() => run?.dispose());

/** The first header line and the text of the document view of every document, after a hover on `corpus`. */
async function views(corpus: string): Promise<{ index: number; header: string; text: string }[]> {
  const session = await InfluenceSession.create(run, factors, { corpus: { path: corpus } });
  const q = STORY_QUERIES[0];
  const request = { prompt: q.prompt, completion: q.completion, top: 3, bottom: 2 };
  const result = await session.query(request);
  const answers = new AnswerStore();
  const ref = answers.add({ request, result, session, label: 'test' });
  assert.equal(result.documents.length, docs.length, 'an exact answer holds every document');
  const out = [];
  for (const { index } of result.documents) {
    const view = await documentView(answers, { ref, document: index });
    out.push({ index, header: view.header[0], text: view.text.slice(view.text.indexOf('─'.repeat(80)) + 81) });
  }
  return out;
}

test("a Parquet document's view names its shard and row; a JSONL document's its line", { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  for (const { index, header, text } of await views(join(dir, 'shards'))) {
    const shard = join(dir, 'shards', 'data', `train-0000${index < HALF ? 0 : 1}-of-00002.parquet`);
    assert.ok(header.endsWith(`· ${shard} row ${index % HALF}`), header);
    assert.equal(text, docs[index].text, 'that row holds the text shown');
  }
  for (const { index, header } of await views(join(dir, 'corpus.jsonl'))) {
    assert.ok(header.endsWith(`· ${join(dir, 'corpus.jsonl')}:${index + 1}`), header);
  }
});
