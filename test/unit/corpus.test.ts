/**
 * Corpus readers: the real TinyStories fixtures, malformed JSONL lines reported at their line numbers,
 * CRLF/BOM, custom fields, folder trees, maxDocs stopping the stream early, fingerprints, tokenization.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { readCorpus, readCorpusAll } from '../../server/src/engine/corpus/corpus';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { readLines } from '../../server/src/engine/corpus/jsonl';
import { tokenizeDocument } from '../../server/src/engine/corpus/tokenize';
import { newCorpusReport, type CorpusDocument, type CorpusReport } from '../../server/src/engine/corpus/types';
import { loadLlama2cTokenizer } from '../../server/src/engine/tokenizer/llama2c';
import type { Tokenizer } from '../../server/src/engine/tokenizer/types';
import { loadHuggingFaceTokenizer } from '../../server/src/engine/tokenizer/huggingface';
import { SKIP_NO_SHARED, TOK512, fixture } from '../helpers/fixtures';

const tmp = mkdtempSync(join(tmpdir(), 'il-corpus-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function write(name: string, content: string | Buffer): string {
  const p = join(tmp, `${seq++}-${name}`);
  writeFileSync(p, content);
  return p;
}

function writeTree(files: Record<string, string>): string {
  const root = join(tmp, `tree-${seq++}`);
  for (const [rel, content] of Object.entries(files)) {
    const p = join(root, ...rel.split('/'));
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, content);
  }
  return root;
}

async function errorOf(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}

test('valid-head.jsonl: 463 TinyStories documents with their ids, source and lines', { skip: SKIP_NO_SHARED }, async () => {
  const path = fixture('tinystories', 'valid-head.jsonl');
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path }, report);
  assert.equal(docs.length, 463);
  assert.equal(report.documents, 463);
  assert.deepEqual(report.skipped, []);
  assert.equal(report.skippedCount, 0);
  assert.deepEqual(report.duplicates, []);
  assert.equal(report.bytesRead, statSync(path).size);
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  docs.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.equal(d.id, `tsv-${String(i + 1).padStart(5, '0')}`);
    assert.equal(d.source, 'tinystories');
    assert.equal(d.line, i + 1);
    assert.equal(d.file, path);
    assert.equal(d.text, (JSON.parse(lines[i]) as { text: string }).text);
  });
  assert.ok(docs[0].text.startsWith('Once upon a time, in a big forest, there lived a rhinoceros named Roxy.'));
});

test('sample5.txt: five documents split on <|endoftext|>, trimmed, with the line each starts on', { skip: SKIP_NO_SHARED }, async () => {
  const path = fixture('tinystories', 'sample5.txt');
  const docs = await readCorpusAll({ path });
  const expected = readFileSync(path, 'utf8')
    .split('<|endoftext|>')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  assert.equal(docs.length, 5);
  assert.deepEqual(
    docs.map((d) => d.text),
    expected,
  );
  assert.deepEqual(
    docs.map((d) => d.id),
    ['1', '2', '3', '4', '5'],
  );
  assert.deepEqual(
    docs.map((d) => d.source),
    ['sample5', 'sample5', 'sample5', 'sample5', 'sample5'],
  );
  assert.deepEqual(
    docs.map((d) => d.line),
    [2, 8, 12, 17, 22],
  );
  assert.ok(docs[0].text.startsWith('Once upon a time there was a little boy named Ben.'));
  assert.ok(docs.every((d) => !d.text.includes('<|endoftext|>')));
});

test('<|endoftext|> text: separators mid-line, CRLF, BOM, empty parts, no final newline', async () => {
  const path = write('stories.TXT', '\uFEFFfirst\r\nstory<|endoftext|>second<|endoftext|><|endoftext|>  \r\n\r\n  third\r\nends');
  const docs = await readCorpusAll({ path });
  assert.deepEqual(
    docs.map((d) => [d.id, d.text, d.line]),
    [
      ['1', 'first\nstory', 1],
      ['2', 'second', 2],
      ['3', 'third\nends', 4],
    ],
  );
  assert.equal(
    docs[0].source,
    path
      .split('/')
      .pop()!
      .replace(/\.TXT$/, ''),
  );
});

test('malformed JSONL lines are skipped and reported with file:line and a reason', async () => {
  const lines = [
    /* 1 */ '{"id":"a","text":"alpha"}',
    /* 2 */ '',
    /* 3 */ '{not json',
    /* 4 */ '[1,2]',
    /* 5 */ '{"id":"b"}',
    /* 6 */ '{"id":"c","text":42}',
    /* 7 */ '{"id":"d","text":"   "}',
    /* 8 */ '{"text":"no id","source":"web"}',
    /* 9 */ '{"id":7,"text":"numeric id","source":null}',
    /* 10 */ '{"id":"a","text":"again a"}',
    /* 11 */ '"just a string"',
    /* 12 */ '{"id":{"x":1},"text":"bad id"}',
    /* 13 */ '   ',
    /* 14 */ '{"id":"e","text":"bad source","source":true}',
    /* 15 */ '{"id":"f","text":"last line, no newline","source":"code"}',
  ];
  const path = write('bad.jsonl', lines.join('\n'));
  const report: CorpusReport = { documents: 0, skipped: [] };
  const docs = await readCorpusAll({ path }, report);
  assert.deepEqual(
    docs.map((d) => [d.index, d.id, d.source, d.text, d.line]),
    [
      [0, 'a', '', 'alpha', 1],
      [1, '8', 'web', 'no id', 8],
      [2, '7', '', 'numeric id', 9],
      [3, 'a', '', 'again a', 10],
      [4, 'f', 'code', 'last line, no newline', 15],
    ],
  );
  assert.equal(report.documents, 5);
  assert.equal(report.skippedCount, 8);
  assert.ok(report.skipped.every((s) => s.file === path));
  assert.deepEqual(
    report.skipped.map((s) => s.line),
    [3, 4, 5, 6, 7, 11, 12, 14],
  );
  const reasons = report.skipped.map((s) => s.reason);
  assert.match(reasons[0], /^invalid JSON: /);
  assert.deepEqual(reasons.slice(1), [
    'not a JSON object (an array)',
    'missing "text" field',
    '"text" is a number, not a string',
    'empty "text"',
    'not a JSON object (a string)',
    '"id" is an object, not a string or number',
    '"source" is a boolean, not a string or number',
  ]);
  assert.deepEqual(report.duplicates, [{ file: path, line: 10, reason: 'duplicate id "a" (first at line 1); both documents are kept' }]);
  assert.equal(report.duplicateCount, 1);
});

test("a skipped line's reason never quotes it (a corpus linked to /etc/shadow must not list its lines)", async () => {
  const secret = 'root:$y$j9T$Jv0S3cr3tHash:19700:0:99999:7:::';
  const path = write('system.jsonl', [secret, '{"id":"ok","text":"a story"}', '[1, "root-2-secret"]x'].join('\n'));
  const report: CorpusReport = { documents: 0, skipped: [] };
  const docs = await readCorpusAll({ path }, report);
  assert.deepEqual(
    docs.map((d) => d.id),
    ['ok'],
  );
  assert.deepEqual(
    report.skipped.map((s) => [s.line, s.reason]),
    [
      [1, 'invalid JSON: unexpected character "r"'],
      [3, 'invalid JSON: Unexpected non-whitespace character after JSON at position 20'],
    ],
  );
  for (const s of report.skipped) assert.ok(!s.reason.includes('root:') && !s.reason.includes('secret'), s.reason);
});

test('JSONL: CRLF line ends, a BOM, blank lines and escaped \\r\\n inside strings', async () => {
  const path = write('crlf.ndjson', '\uFEFF{"text":"one"}\r\n{"text":"two\\r\\nescaped"}\r\n\r\n{"text":"three"}\r\n');
  const docs = await readCorpusAll({ path });
  assert.deepEqual(
    docs.map((d) => [d.id, d.text, d.line]),
    [
      ['1', 'one', 1],
      ['2', 'two\r\nescaped', 2],
      ['4', 'three', 4],
    ],
  );
});

test('JSONL: custom field names; the defaults then find nothing', async () => {
  const path = write('custom.json', ['{"doc_id":"x1","content":"hello","domain":"wiki"}', '{"content":"world","domain":3}'].join('\n') + '\n');
  const docs = await readCorpusAll({ path, textField: 'content', idField: 'doc_id', sourceField: 'domain' });
  assert.deepEqual(
    docs.map((d) => [d.id, d.source, d.text]),
    [
      ['x1', 'wiki', 'hello'],
      ['2', '3', 'world'],
    ],
  );
  const report = newCorpusReport();
  const e = await errorOf(readCorpusAll({ path }, report));
  assert.ok(isInfluenceLensError(e, 'EMPTY_CORPUS'), String(e));
  assert.equal(e.file, path);
  assert.match(e.message, /2 skipped; first: .*custom\.json:1: missing "text" field/);
  assert.equal(report.skippedCount, 2);
});

test('maxDocs stops after that many accepted documents', { skip: SKIP_NO_SHARED }, async () => {
  const path = fixture('tinystories', 'valid-head.jsonl');
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path, maxDocs: 10 }, report);
  assert.deepEqual(
    docs.map((d) => d.id),
    Array.from({ length: 10 }, (_, i) => `tsv-${String(i + 1).padStart(5, '0')}`),
  );
  assert.equal(report.documents, 10);
  assert.ok(report.bytesRead < statSync(path).size, `${report.bytesRead} bytes read`);
});

test('maxDocs counts accepted documents, not lines', async () => {
  const path = write('skip.jsonl', ['{"text":"a"}', 'bad', '{"text":"b"}', '{"text":"c"}'].join('\n'));
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path, maxDocs: 2 }, report);
  assert.deepEqual(
    docs.map((d) => d.text),
    ['a', 'b'],
  );
  assert.equal(report.skippedCount, 1);
});

test('invalid options are refused', async () => {
  for (const maxDocs of [0, -1, 1.5, Number.NaN]) {
    const e = await errorOf(readCorpusAll({ path: tmp, maxDocs }));
    assert.ok(isInfluenceLensError(e, 'CORPUS_OPTIONS'), `maxDocs ${maxDocs}: ${String(e)}`);
  }
  const e = await errorOf(readCorpusAll({ path: tmp, textField: '' }));
  assert.ok(isInfluenceLensError(e, 'CORPUS_OPTIONS'));
});

test('a folder tree: .txt/.md files in code-unit order of relative path, source = first folder', async () => {
  const root = writeTree({
    'a.txt': 'root a',
    'B.txt': 'root B\r\nsecond line\r\n',
    'b.md': '\uFEFF# heading',
    'code/x.txt': 'code x',
    'code/sub/y.md': 'code y',
    'wiki/z.TXT': 'wiki z',
    'empty.txt': ' \n\t',
    'notes.json': '{"text":"not a text file"}',
    '.hidden/q.txt': 'hidden',
    'code/.swap.txt': 'hidden too',
  });
  const report = newCorpusReport();
  const docs = await readCorpusAll({ path: root }, report);
  assert.deepEqual(
    docs.map((d) => [d.index, d.id, d.source, d.text]),
    [
      [0, 'B.txt', '', 'root B\nsecond line\n'],
      [1, 'a.txt', '', 'root a'],
      [2, 'b.md', '', '# heading'],
      [3, 'code/sub/y.md', 'code', 'code y'],
      [4, 'code/x.txt', 'code', 'code x'],
      [5, 'wiki/z.TXT', 'wiki', 'wiki z'],
    ],
  );
  assert.ok(docs.every((d: CorpusDocument) => d.line === undefined && d.file === join(root, ...d.id.split('/'))));
  assert.deepEqual(report.skipped, [{ file: join(root, 'empty.txt'), reason: 'empty file' }]);
  assert.deepEqual(
    (await readCorpusAll({ path: root, maxDocs: 2 })).map((d) => d.id),
    ['B.txt', 'a.txt'],
  );
});

test('empty corpora and missing paths', async () => {
  const cases: Array<[string, RegExp]> = [
    [write('empty.jsonl', ''), /no documents/],
    [write('blank.jsonl', '\n\n  \r\n'), /no documents/],
    [write('empty.txt', '<|endoftext|>\n  <|endoftext|>'), /no documents/],
    [writeTree({ 'data.json': '{}', 'sub/x.csv': 'a,b' }), /no \.txt or \.md files/],
    [writeTree({ 'a.txt': '   ' }), /1 skipped; first: .*a\.txt: empty file/],
  ];
  for (const [path, message] of cases) {
    const e = await errorOf(readCorpusAll({ path }));
    assert.ok(isInfluenceLensError(e, 'EMPTY_CORPUS'), `${path}: ${String(e)}`);
    assert.equal(e.file, path);
    assert.match(e.message, message);
    assert.ok(e.message.includes(path));
  }
  const missing = join(tmp, 'does-not-exist.jsonl');
  const e = await errorOf(readCorpusAll({ path: missing }));
  assert.ok(isInfluenceLensError(e, 'NOT_FOUND'), String(e));
  assert.equal(e.file, missing);
  const e2 = await errorOf(corpusFingerprint({ path: missing }));
  assert.ok(isInfluenceLensError(e2, 'NOT_FOUND'), String(e2));
});

test('fingerprint: stable, and changed by any byte, file or setting', async () => {
  const body = ['{"id":"1","text":"alpha"}', '{"id":"2","text":"beta"}'].join('\n') + '\n';
  const path = write('fp.jsonl', body);
  const fp = await corpusFingerprint({ path });
  assert.match(fp, /^[0-9a-f]{64}$/);
  assert.equal(await corpusFingerprint({ path }), fp);
  assert.equal(await corpusFingerprint({ path, textField: 'text', idField: 'id', sourceField: 'source' }), fp);

  writeFileSync(path, body.replace('beta', 'bets')); // one byte, same size
  const changed = await corpusFingerprint({ path });
  assert.notEqual(changed, fp);
  writeFileSync(path, body);
  assert.equal(await corpusFingerprint({ path }), fp);

  const settings = [
    await corpusFingerprint({ path, textField: 'body' }),
    await corpusFingerprint({ path, idField: 'key' }),
    await corpusFingerprint({ path, sourceField: 'domain' }),
    await corpusFingerprint({ path, maxDocs: 1 }),
    await corpusFingerprint({ path, maxDocs: 2 }),
  ];
  assert.equal(new Set([fp, ...settings]).size, 6);

  const root = writeTree({ 'a.txt': 'alpha', 'code/b.md': 'beta' });
  const f1 = await corpusFingerprint({ path: root });
  const copy = join(tmp, `copy-${seq++}`);
  cpSync(root, copy, { recursive: true });
  assert.equal(await corpusFingerprint({ path: copy }), f1, 'the location of the folder does not matter');
  assert.equal(await corpusFingerprint({ path: root, textField: 'other' }), f1, 'JSONL field names do not apply to a folder');
  renameSync(join(root, 'a.txt'), join(root, 'a2.txt'));
  const renamed = await corpusFingerprint({ path: root });
  assert.notEqual(renamed, f1);
  writeFileSync(join(root, 'code', 'c.txt'), 'gamma');
  const added = await corpusFingerprint({ path: root });
  assert.notEqual(added, renamed);
  writeFileSync(join(root, 'ignored.json'), '{}');
  assert.equal(await corpusFingerprint({ path: root }), added, 'files the reader ignores do not count');
  // same bytes split differently between two files
  const t1 = writeTree({ 'a.txt': 'ab', 'b.txt': 'c' });
  const t2 = writeTree({ 'a.txt': 'a', 'b.txt': 'bc' });
  assert.notEqual(await corpusFingerprint({ path: t1 }), await corpusFingerprint({ path: t2 }));
});

test('streaming: a 50k-line file is read only as far as maxDocs or a break needs', async () => {
  const n = 50_000;
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(JSON.stringify({ id: `d${i}`, text: `document ${i} `.padEnd(100, 'x') }));
  const path = write('big.jsonl', lines.join('\n') + '\n');
  const size = statSync(path).size;
  assert.ok(size > 5_000_000);

  const report = newCorpusReport();
  const docs = await readCorpusAll({ path, maxDocs: 5 }, report);
  assert.equal(docs.length, 5);
  assert.ok(report.bytesRead <= 128 * 1024, `read ${report.bytesRead} of ${size} bytes`);

  const report2 = newCorpusReport();
  let seen = 0;
  for await (const d of readCorpus({ path }, report2)) {
    assert.equal(d.id, `d${seen}`);
    if (++seen === 3) break;
  }
  assert.ok(report2.bytesRead <= 128 * 1024, `read ${report2.bytesRead} of ${size} bytes`);

  const report3 = newCorpusReport();
  let count = 0;
  let last = '';
  for await (const d of readCorpus({ path }, report3)) {
    count++;
    last = d.id;
  }
  assert.equal(count, n);
  assert.equal(last, `d${n - 1}`);
  assert.equal(report3.documents, n);
  assert.equal(report3.bytesRead, size);
});

test('an abort signal stops the stream', async () => {
  const path = write('abort.jsonl', Array.from({ length: 100 }, (_, i) => `{"text":"t${i}"}`).join('\n'));
  const controller = new AbortController();
  const got: string[] = [];
  const e = await errorOf(
    (async () => {
      for await (const d of readCorpus({ path }, undefined, controller.signal)) {
        got.push(d.text);
        if (got.length === 2) controller.abort();
      }
    })(),
  );
  assert.equal((e as Error).name, 'AbortError');
  assert.deepEqual(got, ['t0', 't1']);
});

test('readLines: chunk boundaries inside CRLF and multi-byte characters, over-long lines', async () => {
  const content = '\uFEFFé😀 one\r\ntwo\r\n\r\nthree 😀😀\nfour-is-a-very-long-line\nfive';
  const path = write('lines.txt', content);
  for (const chunkBytes of [1, 2, 3, 5, 7, 64]) {
    const got = [];
    for await (const l of readLines(path, { chunkBytes, maxChars: 16 })) got.push(l);
    assert.deepEqual(
      got,
      [
        { text: 'é😀 one', line: 1 },
        { text: 'two', line: 2 },
        { text: '', line: 3 },
        { text: 'three 😀😀', line: 4 },
        { text: '', line: 5, tooLong: true },
        { text: 'five', line: 6 },
      ],
      `chunkBytes ${chunkBytes}`,
    );
  }
  const got = [];
  for await (const l of readLines(write('nl.txt', 'a\n'))) got.push(l.text);
  assert.deepEqual(got, ['a']);
});

test('readLines: a line that is not UTF-8 is flagged at its line number, whatever the chunk boundaries', async () => {
  const bytes = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('caf\u00e9 \ud83d\ude00\n'),
    Buffer.from('Le caf\u00e9\r\n', 'latin1'),
    Buffer.from([0xe2, 0x82, 0x0a]), // a 3-byte sequence cut by the newline
    Buffer.from('ok\n'),
    Buffer.from([0xed, 0xa0, 0x80, 0x0a]), // an encoded surrogate half: not UTF-8
    Buffer.from('end'),
  ]);
  const path = write('bad-utf8.txt', bytes);
  for (const chunkBytes of [1, 2, 3, 5, 64]) {
    const got = [];
    for await (const l of readLines(path, { chunkBytes })) got.push(l);
    assert.deepEqual(
      got,
      [
        { text: 'caf\u00e9 \ud83d\ude00', line: 1 },
        { text: '', line: 2, notUtf8: true },
        { text: '', line: 3, notUtf8: true },
        { text: 'ok', line: 4 },
        { text: '', line: 5, notUtf8: true },
        { text: 'end', line: 6 },
      ],
      `chunkBytes ${chunkBytes}`,
    );
  }
  const tiny: string[] = [];
  for await (const l of readLines(write('two.txt', Buffer.from([0xef, 0xbb])), { chunkBytes: 1 })) tiny.push(JSON.stringify(l));
  assert.deepEqual(tiny, [JSON.stringify({ text: '', line: 1, notUtf8: true })], 'half a BOM is not UTF-8');
});

/** A tokenizer that maps each character to its code point. */
const charTokenizer: Tokenizer = {
  kind: 'huggingface',
  vocabSize: 0x110000,
  bosId: 1,
  eosId: 2,
  encode: (text) => Array.from(text, (c) => c.codePointAt(0)!),
  decode: (ids) => String.fromCodePoint(...ids),
};

test('tokenizeDocument: BOS then the text, truncated to maxLen', () => {
  assert.deepEqual(tokenizeDocument('abc', charTokenizer, 1, 10), [1, 97, 98, 99]);
  assert.deepEqual(tokenizeDocument('abc', charTokenizer, 1, 3), [1, 97, 98]);
  assert.deepEqual(tokenizeDocument('abc', charTokenizer, 1, 1), [1]);
  assert.deepEqual(tokenizeDocument('', charTokenizer, 5, 4), [5]);
  assert.deepEqual(tokenizeDocument('abc', charTokenizer, -1, 2), [97, 98]);
  assert.throws(
    () => tokenizeDocument('abc', charTokenizer, 1, 0),
    (e) => isInfluenceLensError(e),
  );
});

test('tokenizeDocument with the stories260K tokenizer on a real document', { skip: SKIP_NO_SHARED }, async () => {
  const tok = loadLlama2cTokenizer(TOK512(), 512);
  const [doc] = await readCorpusAll({ path: fixture('tinystories', 'sample5.txt'), maxDocs: 1 });
  const full = tokenizeDocument(doc.text, tok, tok.bosId, 100_000);
  assert.equal(full[0], tok.bosId);
  assert.deepEqual(full.slice(1), tok.encode(doc.text));
  assert.ok(full.length > 64);
  assert.deepEqual(tokenizeDocument(doc.text, tok, tok.bosId, 64), full.slice(0, 64));
});

test('long documents are tokenized from a prefix with the same kept tokens as the whole text', { skip: SKIP_NO_SHARED }, () => {
  const llama2c = loadLlama2cTokenizer(TOK512(), 512);
  const demo = loadHuggingFaceTokenizer(join(__dirname, '..', '..', 'demo', 'model'));
  const stories = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const long = [stories.join(' '), stories.join('\n\n').replace(/ /g, ''), 'ab'.repeat(20_000)];
  for (const tok of [llama2c, demo]) {
    for (const text of [...stories, ...long]) {
      for (const maxLen of [8, 64, 128]) {
        const whole = [1, ...tok.encode(text)].slice(0, maxLen);
        assert.deepEqual(tokenizeDocument(text, tok, 1, maxLen), whole, `${text.slice(0, 30)}… at ${maxLen}`);
      }
    }
  }
});
