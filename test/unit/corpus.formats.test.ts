/**
 * Corpora as people have them: the same 200 documents as JSONL, .jsonl.gz, .jsonl.zst and Parquet (and
 * a folder of shards) give the same documents in the same order; each is fingerprinted during the pass
 * as corpusFingerprint() fingerprints it; dotted field paths reach into nested records; corrupt data is
 * one issue with the file and the line, byte offset or row, and what can be read still is; fingerprints
 * of the corpora that existed before these formats are unchanged.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parquetWriteBuffer } from 'hyparquet-writer';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { readCorpus, readCorpusAll } from '../../server/src/engine/corpus/corpus';
import { CorpusFingerprinter, corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { newCorpusReport, type CorpusDocument, type CorpusOptions } from '../../server/src/engine/corpus/types';
import { jsonlOf, parquetOf, sampleDocs, writeAllFormats, zstdStored, type Doc } from '../helpers/corpusFormats';

const tmp = mkdtempSync(join(tmpdir(), 'il-formats-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
let seq = 0;
const path = (name: string) => join(tmp, `${seq++}-${name}`);
function write(name: string, content: Buffer | string): string {
  const p = path(name);
  writeFileSync(p, content);
  return p;
}

/** The stream as a user's results see it: id, source and text in order, and its sha256. */
function streamOf(docs: CorpusDocument[]): { docs: Doc[]; sha: string } {
  const plain = docs.map((d) => ({ id: d.id, source: d.source, text: d.text }));
  return { docs: plain, sha: createHash('sha256').update(JSON.stringify(plain)).digest('hex') };
}

async function pass(options: CorpusOptions): Promise<{ docs: CorpusDocument[]; digest: string | undefined; report: ReturnType<typeof newCorpusReport> }> {
  const fingerprinter = new CorpusFingerprinter(options);
  const report = newCorpusReport();
  const docs: CorpusDocument[] = [];
  for await (const d of readCorpus(options, report, undefined, fingerprinter.hooks)) docs.push(d);
  return { docs, digest: fingerprinter.digest(), report };
}

const docs200 = sampleDocs(200);

test('the same 200 documents as JSONL, .jsonl.gz, .jsonl.zst, Parquet (snappy and zstd, 4 row groups) and a folder of shards read the same', async () => {
  const files = writeAllFormats(path('sample'), docs200);
  const zstdParquet = write('zstd.parquet', parquetOf(docs200, { codec: 'ZSTD', rowGroupSize: 50 }));
  const shards = join(tmp, `shards-${seq++}`);
  mkdirSync(join(shards, 'data'), { recursive: true });
  writeFileSync(join(shards, 'README.md'), '# a dataset card, not a document\n');
  writeFileSync(join(shards, 'data', 'train-00000-of-00003.parquet'), parquetOf(docs200.slice(0, 80), { rowGroupSize: 30 }));
  writeFileSync(join(shards, 'data', 'train-00001-of-00003.jsonl.gz'), gzipSync(jsonlOf(docs200.slice(80, 150))));
  writeFileSync(join(shards, 'data', 'train-00002-of-00003.jsonl.zst'), zstdStored(jsonlOf(docs200.slice(150))));

  const expected = createHash('sha256')
    .update(JSON.stringify(docs200.map((d) => ({ id: d.id, source: d.source, text: d.text }))))
    .digest('hex');
  const digests = new Set<string>();
  for (const p of [files.jsonl, files.gz, files.zst, files.parquet, zstdParquet, shards]) {
    const { docs, digest, report } = await pass({ path: p });
    const stream = streamOf(docs);
    assert.deepEqual(stream.docs, docs200, p);
    assert.equal(stream.sha, expected, p);
    assert.equal(report.documents, 200, p);
    assert.equal(report.skippedCount, 0, p);
    assert.deepEqual(
      docs.map((d) => d.index),
      docs200.map((_, i) => i),
    );
    // Fingerprinted during the pass exactly as by a separate read; each file's own bytes give its own fingerprint.
    assert.equal(digest, await corpusFingerprint({ path: p }), p);
    digests.add(digest!);
  }
  assert.equal(digests.size, 6);
  // Where each document is: a line of JSONL (compressed or not), a row of Parquet.
  const gz = await readCorpusAll({ path: files.gz });
  assert.deepEqual([gz[3].line, gz[3].row], [4, undefined]);
  const pq = await readCorpusAll({ path: files.parquet });
  assert.deepEqual([pq[70].line, pq[70].row, pq[70].file], [undefined, 70, files.parquet]);
});

test(
  'a .jsonl.zst made by the zstd tool (real compressed blocks, two frames) reads the same',
  { skip: !existsSync('/usr/bin/zstd') && 'no zstd tool' },
  async () => {
    const plain = write('real.jsonl', jsonlOf(docs200));
    const one = `${plain}.zst`;
    execFileSync('zstd', ['-q', '-19', plain, '-o', one]);
    const two = write('two-frames.jsonl.zst', Buffer.concat([readFileSync(one), readFileSync(one)]));
    assert.deepEqual(streamOf(await readCorpusAll({ path: one })).docs, docs200);
    const both = await readCorpusAll({ path: two });
    assert.equal(both.length, 400);
    assert.deepEqual(streamOf(both.slice(200)).docs, docs200);
  },
);

test('dotted field paths reach into nested records, in JSONL and in Parquet; a key that holds dots wins', async () => {
  const nested = docs200.slice(0, 10).map((d, i) => ({ content: { text: d.text }, meta: { id: i * 10, source: d.source, tags: [d.source] } }));
  const jsonl = write('nested.jsonl.gz', gzipSync(jsonlOf(nested)));
  const pq = write(
    'nested.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'content', data: nested.map((r) => r.content) },
          { name: 'meta', data: nested.map((r) => r.meta) },
        ],
      }),
    ),
  );
  for (const p of [jsonl, pq]) {
    const docs = await readCorpusAll({ path: p, textField: 'content.text', idField: 'meta.id', sourceField: 'meta.tags.0' });
    assert.deepEqual(
      docs.map((d) => [d.id, d.source, d.text]),
      docs200.slice(0, 10).map((d, i) => [String(i * 10), d.source, d.text]),
      p,
    );
    // The field names are part of the fingerprint.
    assert.notEqual(await corpusFingerprint({ path: p, textField: 'content.text' }), await corpusFingerprint({ path: p }));
  }
  const literal = write('literal.jsonl', jsonlOf([{ 'a.b': 'the key', a: { b: 'the path' } }, { a: { b: 'only the path' } }]));
  assert.deepEqual(
    (await readCorpusAll({ path: literal, textField: 'a.b' })).map((d) => d.text),
    ['the key', 'only the path'],
  );
  const report = newCorpusReport();
  const some = write('missing.jsonl', jsonlOf([{ a: { b: 'x' } }, { a: 'flat' }, { a: { c: 1 } }]));
  assert.equal((await readCorpusAll({ path: some, textField: 'a.b' }, report)).length, 1);
  assert.deepEqual(
    report.skipped.map((i) => [i.line, i.reason]),
    [
      [2, 'missing "a.b" field'],
      [3, 'missing "a.b" field'],
    ],
  );
});

test('a folder of shards numbers records without an id by shard and line or row; ids stay distinct', async () => {
  const root = join(tmp, `noids-${seq++}`);
  mkdirSync(root);
  const texts = docs200.slice(0, 3).map((d) => ({ text: d.text }));
  writeFileSync(join(root, 'a.jsonl'), jsonlOf(texts));
  writeFileSync(join(root, 'b.parquet'), Buffer.from(parquetWriteBuffer({ columnData: [{ name: 'text', data: texts.map((t) => t.text), type: 'STRING' }] })));
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: root }, report);
  assert.deepEqual(
    docs.map((d) => d.id),
    ['a.jsonl:1', 'a.jsonl:2', 'a.jsonl:3', 'b.parquet:0', 'b.parquet:1', 'b.parquet:2'],
  );
  assert.equal(report.duplicateCount, 0);
  // One file alone: the line (JSONL, as before) or the 0-based row (Parquet).
  assert.deepEqual(
    (await readCorpusAll({ path: join(root, 'b.parquet') })).map((d) => d.id),
    ['0', '1', '2'],
  );
});

test('corrupt gzip: the documents before the damage are read; one issue names the file, the line and the byte offset', async () => {
  const gz = gzipSync(jsonlOf(docs200));
  const truncated = write('truncated.jsonl.gz', gz.subarray(0, Math.floor(gz.length / 2)));
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: truncated }, report);
  assert.ok(docs.length > 20 && docs.length < 200, `${docs.length} documents`);
  assert.deepEqual(streamOf(docs).docs, docs200.slice(0, docs.length));
  assert.equal(report.skippedCount, 1);
  const [issue] = report.skipped;
  assert.equal(issue.file, truncated);
  assert.equal(issue.line, docs.length + 1);
  assert.match(
    issue.reason,
    new RegExp(
      `^corrupt gzip data \\(unexpected end of file\\) within the first ${gz.length >> 1} bytes of the file; line ${docs.length + 1} and the rest of the file are skipped$`,
    ),
  );

  const flipped = Buffer.from(gz);
  for (let k = 400; k < 480; k++) flipped[k] ^= 0x5a;
  const damaged = write('damaged.jsonl.gz', flipped);
  const r2 = newCorpusReport();
  const d2 = await readCorpusAll({ path: damaged }, r2).catch((e: unknown) => e);
  // Either nothing before the damage decodes (then the corpus is empty, and the error says why) or a prefix does.
  const issues = Array.isArray(d2) ? r2.skipped : [];
  if (Array.isArray(d2)) assert.equal(issues.length, 1);
  else assert.ok(isInfluenceLensError(d2, 'EMPTY_CORPUS') && /corrupt gzip data/.test(d2.message), String(d2));
  if (Array.isArray(d2)) assert.match(issues[0].reason, /^corrupt gzip data \(.+\) within the first \d+ bytes of the file/);

  const notGzip = write('not-gzip.jsonl.gz', jsonlOf(docs200.slice(0, 2)));
  const e = await readCorpusAll({ path: notGzip }).catch((x: unknown) => x);
  assert.ok(isInfluenceLensError(e, 'EMPTY_CORPUS'), String(e));
  assert.match(e.message, /not-gzip\.jsonl\.gz:1: corrupt gzip data \(incorrect header check\)/);
});

test('corrupt zstd: a truncated frame and a bad block header are one issue each, after the documents before them', async () => {
  const stored = zstdStored(jsonlOf(docs200), 4096); // a decoder yields whole blocks: small ones show the prefix
  const cut = write('cut.jsonl.zst', stored.subarray(0, stored.length - 100));
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: cut }, report);
  assert.ok(docs.length > 150 && docs.length < 200, `${docs.length} documents`);
  assert.deepEqual(streamOf(docs).docs, docs200.slice(0, docs.length));
  assert.deepEqual(
    report.skipped.map((i) => [i.file, i.line]),
    [[cut, docs.length + 1]],
  );
  assert.match(report.skipped[0].reason, /^corrupt zstd data \(.+\) within the first \d+ bytes of the file; line \d+ and the rest of the file are skipped$/);

  const badMagic = Buffer.from(stored);
  badMagic[0] = 0x00;
  const e = await readCorpusAll({ path: write('magic.jsonl.zst', badMagic) }).catch((x: unknown) => x);
  assert.ok(isInfluenceLensError(e, 'EMPTY_CORPUS'), String(e));
  assert.match(e.message, /magic\.jsonl\.zst:1: corrupt zstd data/);
});

test('corrupt Parquet: a damaged row group is one issue at its first row and the other groups are read; a bad footer skips the file; bad rows are skipped by row', async () => {
  const good = parquetOf(docs200, { rowGroupSize: 50, codec: 'SNAPPY' });
  // Damage the middle of the file: inside row group 1 or 2's pages.
  const damaged = Buffer.from(good);
  const mid = Math.floor(damaged.length / 2);
  for (let k = mid; k < mid + 64; k++) damaged[k] = 0xff;
  const p = write('damaged.parquet', damaged);
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: p }, report);
  assert.ok(report.skippedCount >= 1 && report.skippedCount <= 2, JSON.stringify(report.skipped));
  for (const issue of report.skipped) {
    assert.equal(issue.file, p);
    assert.ok(issue.row === 50 || issue.row === 100 || issue.row === 150, `row ${issue.row}`);
    assert.match(issue.reason, new RegExp(`^row group \\d \\(rows ${issue.row}–${issue.row! + 49}\\) cannot be read \\(.+\\); its rows are skipped$`));
  }
  const lost = new Set(report.skipped.flatMap((i) => Array.from({ length: 50 }, (_, k) => i.row! + k)));
  assert.deepEqual(
    streamOf(docs).docs,
    docs200.filter((_, i) => !lost.has(i)),
  );
  assert.deepEqual(
    docs.map((d) => d.row),
    docs200.map((_, i) => i).filter((i) => !lost.has(i)),
  );

  const footer = Buffer.from(good);
  footer.write('XXXX', footer.length - 4, 'latin1');
  const bad = write('footer.parquet', footer);
  const e = await readCorpusAll({ path: bad }).catch((x: unknown) => x);
  assert.ok(isInfluenceLensError(e, 'EMPTY_CORPUS'), String(e));
  assert.match(e.message, /footer\.parquet: not a readable Parquet file \(.+\); skipped/);
  // In a folder, the other shards are still read.
  const root = join(tmp, `mixed-${seq++}`);
  mkdirSync(root);
  writeFileSync(join(root, '0.parquet'), footer);
  writeFileSync(join(root, '1.parquet'), parquetOf(docs200.slice(0, 5)));
  const r2 = newCorpusReport();
  assert.equal((await readCorpusAll({ path: root }, r2)).length, 5);
  assert.deepEqual(
    r2.skipped.map((i) => i.file),
    [join(root, '0.parquet')],
  );

  // Rows: a null text, an empty one, a wrong field name.
  const rows = write(
    'rows.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'text', data: ['fine', null, '  ', 'also fine'], type: 'STRING' },
          { name: 'id', data: [1n, 2n, 3n, 4n], type: 'INT64' },
        ],
      }),
    ),
  );
  const r3 = newCorpusReport();
  assert.deepEqual(
    (await readCorpusAll({ path: rows }, r3)).map((d) => [d.id, d.row, d.text]),
    [
      ['1', 0, 'fine'],
      ['4', 3, 'also fine'],
    ],
  );
  assert.deepEqual(
    r3.skipped.map((i) => [i.file, i.row, i.reason]),
    [
      [rows, 1, '"text" is null, not a string'],
      [rows, 2, 'empty "text"'],
    ],
  );
  const e2 = await readCorpusAll({ path: rows, textField: 'body' }).catch((x: unknown) => x);
  assert.ok(isInfluenceLensError(e2, 'EMPTY_CORPUS'), String(e2));
  assert.match(e2.message, /rows\.parquet: no column "body" \(columns: text, id\); its 4 rows are skipped/);
});

test('corpora that existed before these formats keep their fingerprints (their caches stay valid)', async () => {
  const root = join(tmp, `old-${seq++}`);
  mkdirSync(join(root, 'f', 'sub'), { recursive: true });
  const jsonl = join(root, 'c.jsonl');
  writeFileSync(jsonl, '{"id":"a","text":"one","source":"x"}\n{"text":"two"}\n');
  assert.equal(await corpusFingerprint({ path: jsonl }), '51521802dbbad145ab54f28aee7280e4512eaaf5a4772807a9e0c09939660a47');
  assert.equal(await corpusFingerprint({ path: jsonl, textField: 'body' }), '939452b20f403e5d7bd075928e1f675eeb3baffc2099298a5124b9a48e3fb3c1');
  writeFileSync(join(root, 'f', 'a.txt'), 'alpha');
  writeFileSync(join(root, 'f', 'sub', 'b.md'), 'beta');
  writeFileSync(join(root, 'f', 'c.json'), '{"text":"x"}\n');
  assert.equal(await corpusFingerprint({ path: join(root, 'f') }), '528d0bfa99345c988928bd7c36d6f26ead605f18023060a374ede36fa1549147');
  writeFileSync(join(root, 's.txt'), 'one<|endoftext|>two');
  assert.equal(await corpusFingerprint({ path: join(root, 's.txt') }), '09c50c022a01e97b089653a44191bf226d3c4f6231dbee19b2611e1c561fc3cd');
});

test('the Pile as it comes: .jsonl.zst and Parquet with a struct column, --source-field meta.pile_set_name', async () => {
  const records = docs200.slice(0, 6).map((d, i) => ({ text: d.text, meta: { pile_set_name: ['Pile-CC', 'Github', 'ArXiv'][i % 3], n: i } }));
  const zst = write('pile.jsonl.zst', zstdStored(jsonlOf(records)));
  const pq = write(
    'pile.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'text', data: records.map((r) => r.text) },
          { name: 'meta', data: records.map((r) => ({ pile_set_name: r.meta.pile_set_name, n: BigInt(r.meta.n) })) },
        ],
        schema: [
          { name: 'root', num_children: 2 },
          { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
          { name: 'meta', repetition_type: 'OPTIONAL', num_children: 2 },
          { name: 'pile_set_name', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
          { name: 'n', type: 'INT64', repetition_type: 'OPTIONAL' },
        ],
      }),
    ),
  );
  for (const p of [zst, pq]) {
    const docs = await readCorpusAll({ path: p, sourceField: 'meta.pile_set_name', idField: 'meta.n' });
    assert.deepEqual(
      docs.map((d) => [d.id, d.source, d.text]),
      records.map((r) => [String(r.meta.n), r.meta.pile_set_name, r.text]),
      p,
    );
  }
});

test('maxDocs and a break stop a compressed or Parquet corpus early; a pass fingerprints only what it read whole', async () => {
  const files = writeAllFormats(path('early'), docs200);
  for (const p of [files.gz, files.zst, files.parquet]) {
    const { docs, digest } = await pass({ path: p, maxDocs: 7 });
    assert.equal(docs.length, 7, p);
    // A small compressed file is read whole in its first chunk (then the digest is the fingerprint); Parquet is hashed at its end.
    if (p === files.parquet) assert.equal(digest, undefined);
    else assert.equal(digest, await corpusFingerprint({ path: p, maxDocs: 7 }), p);
    let n = 0;
    for await (const _ of readCorpus({ path: p })) if (++n === 3) break;
    assert.equal(n, 3);
  }
});

test('Parquet strings are decoded strictly, as JSONL lines are: bytes that are not UTF-8 skip their row, never become U+FFFD', async () => {
  const bytes = [Buffer.from('fine'), Buffer.from([0x63, 0x61, 0x66, 0xe9]), Buffer.from('\ufeffkept BOM')];
  const p = write(
    'latin1.parquet',
    Buffer.from(
      parquetWriteBuffer({
        columnData: [
          { name: 'text', data: bytes.map((b) => new Uint8Array(b)) },
          { name: 'source', data: [new Uint8Array(Buffer.from('ok')), new Uint8Array(Buffer.from('ok')), new Uint8Array([0xff])] },
        ],
        schema: [
          { name: 'root', num_children: 2 },
          { name: 'text', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
          { name: 'source', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'REQUIRED' },
        ],
      }),
    ),
  );
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: p }, report);
  assert.deepEqual(
    docs.map((d) => [d.row, d.text]),
    [[0, 'fine']],
  );
  assert.deepEqual(
    report.skipped.map((i) => [i.row, i.reason]),
    [
      [1, 'not valid UTF-8 text'],
      [2, '"source" is not valid UTF-8 text'],
    ],
  );
  const bom = await readCorpusAll({ path: p, sourceField: 'none' });
  assert.equal(bom[1].text, '\ufeffkept BOM');
});
