/** The .infq query language: the demo set round-trips through it, and each problem gets a diagnostic with its exact range. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { blockAt, formatInfq, parseInfq, type QueryDiagnostic } from '../../server/src/engine/queries/infq';
import { parseQueries, parseQueryText } from '../../server/src/engine/queries/read';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { REPO } from '../helpers/cli';

const strip = (q: object) => Object.fromEntries(Object.entries(q).filter(([k]) => k !== 'file' && k !== 'line'));

test('the demo queries round-trip JSONL → .infq → queries, and demo/queries.infq is what the generator writes', () => {
  const jsonl = parseQueries(readFileSync(join(REPO, 'demo', 'queries.jsonl'), 'utf8'), 'queries.jsonl');
  const text = formatInfq(jsonl);
  const parsed = parseInfq(text, 'q.infq');
  assert.deepEqual(parsed.diagnostics, []);
  assert.deepEqual(
    parsed.blocks.map((b) => strip(b.record)),
    jsonl.map(strip),
  );
  assert.equal(readFileSync(join(REPO, 'demo', 'queries.infq'), 'utf8'), text, 'demo/queries.infq is stale: run npm run demo:queries');
});

test('prompts and completions keep their text: markers escaped, spaces, trailing blank lines', () => {
  const queries = [
    { id: 'a', prompt: '=== not a header\n--- not a section\n\\backslash\n  indented', completion: ' Tokyo' },
    { id: 'b', prompt: 'ends with newlines\n\n', kind: 'reasoning' as const, task: 't', answer: '42' },
    { id: 'c', prompt: 'trailing space ' },
  ];
  const parsed = parseInfq(formatInfq(queries), 'x.infq');
  assert.deepEqual(parsed.diagnostics, []);
  assert.deepEqual(
    parsed.blocks.map((b) => strip(b.record)),
    queries,
  );
});

test('records carry the file and the 1-based line of their header; blocks know their lines', () => {
  const text = '# queries\n\n=== first\n--- prompt\nline one\nline two\n\n\n=== second\nkind: control\n--- prompt\nx\n--- completion\n y\n';
  const { blocks } = parseInfq(text, '/abs/q.infq');
  assert.deepEqual(
    blocks.map((b) => [b.record.id, b.record.file, b.record.line, b.header, b.end, b.prompt]),
    [
      ['first', '/abs/q.infq', 3, 2, 5, { first: 4, last: 5 }],
      ['second', '/abs/q.infq', 9, 8, 13, { first: 11, last: 11 }],
    ],
  );
  assert.equal(blockAt({ blocks, diagnostics: [] }, 4)?.record.id, 'first');
  assert.equal(blockAt({ blocks, diagnostics: [] }, 7), undefined, 'blank lines between blocks belong to none');
  assert.equal(blockAt({ blocks, diagnostics: [] }, 12)?.record.completion, ' y');
});

test('each problem is a diagnostic with its exact range', () => {
  const lines = [
    'stray text', // 0: outside-query
    '=== q1', // 1
    'kind: factual', // 2
    'kind: reasoning', // 3: duplicate-field on "kind"
    'colour: blue', // 4: unknown-field on "colour"
    '--- prompt', // 5
    'hello', // 6
    '=== q2', // 7: missing-prompt
    'kind: opinion', // 8: unknown-kind on "opinion"
    '=== q1', // 9: duplicate id
    '--- prompt', // 10
    'again', // 11
    '--- notes', // 12: unknown-section
    '=== q3', // 13
    '--- prompt', // 14: empty-prompt
    '   ', // 15
    '===', // 16: missing-id
    '=== q4', // 17
    '--- prompt', // 18
    'p', // 19
    '--- completion', // 20: empty-completion
  ];
  const { blocks, diagnostics } = parseInfq(lines.join('\n'), 'bad.infq');
  const got = diagnostics.map((d: QueryDiagnostic) => [d.code, d.range.start.line, d.range.start.character, d.range.end.character]);
  assert.deepEqual(got, [
    ['outside-query', 0, 0, 10],
    ['duplicate-field', 3, 0, 4],
    ['unknown-field', 4, 0, 6],
    ['missing-prompt', 7, 0, 6],
    ['unknown-kind', 8, 6, 13],
    ['duplicate-id', 9, 4, 6],
    ['unknown-section', 12, 0, 9],
    ['empty-prompt', 14, 0, 10],
    ['missing-id', 16, 0, 3],
    ['empty-completion', 20, 0, 14],
  ]);
  assert.deepEqual(
    blocks.map((b) => b.record.id),
    ['q1', 'q4'],
    'the readable queries are still returned',
  );
});

test('reading an .infq file with errors throws QUERY_FORMAT naming file:line of each', () => {
  assert.throws(
    () => parseQueryText('=== a\nkind: nope\n--- prompt\nx\n=== b\n', '/q/bad.infq'),
    (e: unknown) =>
      e instanceof InfluenceLensError &&
      e.code === 'QUERY_FORMAT' &&
      e.line === 2 &&
      /\/q\/bad\.infq:2: unknown kind "nope"/.test(e.message) &&
      /bad\.infq:5: query "b" has no "--- prompt"/.test(e.message),
  );
  assert.deepEqual(
    parseQueryText('{"prompt": "x"}\n', '/q/ok.jsonl').map((q) => q.prompt),
    ['x'],
    'other extensions are JSONL',
  );
});
