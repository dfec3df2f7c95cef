/**
 * The same 200 documents as JSONL, .jsonl.gz, .jsonl.zst and Parquet, through the CLI with the tiny
 * Llama fixture: factors fitted from Parquet score every format exactly as factors fitted from JSONL
 * score JSONL (bit-identical scores, same documents, ids and sources); each corpus is recorded with its
 * own fingerprint; corrupt inputs of each format are skipped with file and line or row, and counted.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { fitTiny, modelArgs, runBounded, scoreTiny, writeQueries } from '../helpers/badInput';
import { jsonlOf, parquetOf, sampleDocs, writeAllFormats, zstdStored } from '../helpers/corpusFormats';
import { readResults } from '../../server/src/engine/results/io';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';

let dir: string;
let files: ReturnType<typeof writeAllFormats>;
let queries: string;
const docs = sampleDocs(200);

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-formats-cli-'));
  files = writeAllFormats(join(dir, 'sample'), docs);
  queries = writeQueries(dir, [
    { id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' },
    { id: 'cafe', prompt: 'She said,', completion: ' "Café!"' },
  ]);
  await fitTiny(files.jsonl, join(dir, 'factors-jsonl'));
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('JSONL, .jsonl.gz, .jsonl.zst and Parquet give identical documents and identical scores', { skip: SKIP_NO_SHARED }, async () => {
  await fitTiny(files.parquet, join(dir, 'factors-parquet'));
  const scored = [];
  for (const [name, corpus] of Object.entries(files)) {
    const factors = join(dir, name === 'jsonl' ? 'factors-jsonl' : 'factors-parquet');
    const out = join(dir, `results-${name}`);
    const r = await scoreTiny(corpus, factors, queries, out, ['--max-len', '32']);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const loaded = readResults(out);
    assert.equal(loaded.results.corpus.fingerprint, await corpusFingerprint({ path: corpus }), name);
    assert.equal(loaded.results.corpus.skipped, 0, name);
    scored.push({ name, loaded });
  }
  const [first, ...rest] = scored;
  assert.equal(first.loaded.scores.length, 2 * 200);
  assert.deepEqual(
    first.loaded.results.documents.map((d) => [d.id, d.source]),
    docs.map((d) => [d.id, d.source]),
  );
  assert.ok(first.loaded.scores.some((s) => s !== 0));
  for (const { name, loaded } of rest) {
    assert.deepEqual(
      loaded.results.documents.map((d) => [d.index, d.id, d.source]),
      first.loaded.results.documents.map((d) => [d.index, d.id, d.source]),
      name,
    );
    assert.deepEqual(Array.from(loaded.scores), Array.from(first.loaded.scores), `${name}: scores differ from JSONL's`);
  }
  assert.equal(new Set(scored.map((s) => s.loaded.results.corpus.fingerprint)).size, 4);
});

test('corrupt inputs of each format are skipped with file and line or row, counted in the results', { skip: SKIP_NO_SHARED }, async () => {
  const some = docs.slice(0, 40);
  const gz = gzipSync(jsonlOf(some));
  const zst = zstdStored(jsonlOf(some), 1024);
  const good = parquetOf(some, { rowGroupSize: 10 });
  const damaged = Buffer.from(good);
  for (let k = damaged.length >> 1; k < (damaged.length >> 1) + 48; k++) damaged[k] = 0xff;
  const cases: Array<[string, Buffer, RegExp]> = [
    [
      'cut.jsonl.gz',
      gz.subarray(0, gz.length >> 1),
      /cut\.jsonl\.gz:\d+: corrupt gzip data \(unexpected end of file\) within the first \d+ bytes of the file; line \d+ and the rest of the file are skipped/,
    ],
    ['cut.jsonl.zst', zst.subarray(0, zst.length - 300), /cut\.jsonl\.zst:\d+: corrupt zstd data \(.+\) within the first \d+ bytes of the file/],
    ['damaged.parquet', damaged, /damaged\.parquet row (10|20|30): row group \d \(rows \d+–\d+\) cannot be read \(.+\); its rows are skipped/],
  ];
  for (const [name, bytes, says] of cases) {
    const corpus = join(dir, name);
    writeFileSync(corpus, bytes);
    const out = join(dir, `results-${name}`);
    const r = await runBounded([
      'score',
      ...modelArgs(),
      '--corpus',
      corpus,
      '--factors',
      join(dir, 'factors-jsonl'),
      '--queries',
      queries,
      '--out',
      out,
      '--workers',
      '1',
      '--max-len',
      '32',
    ]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    const { results } = readResults(out);
    assert.ok(results.corpus.skipped >= 1, name);
    const issue = results.corpus.skippedIssues[0] as { line?: number; row?: number };
    assert.ok(name.endsWith('.parquet') ? issue.row !== undefined : issue.line !== undefined, `${name}: ${JSON.stringify(issue)}`);
    assert.ok(results.documents.length > 0 && results.documents.length < 40, `${name}: ${results.documents.length} documents`);
    assert.equal(results.corpus.skippedIssues[0].file, corpus);
    assert.match(r.stderr, says, name);
  }
});
