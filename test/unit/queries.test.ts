/** Query files: every field read, defaults applied, and any malformed line an error at its file:line. */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { parseQueries, readQueries } from '../../server/src/engine/queries/read';

const tmp = mkdtempSync(join(tmpdir(), 'il-queries-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

let seq = 0;
function write(content: string): string {
  const p = join(tmp, `${seq++}-queries.jsonl`);
  writeFileSync(p, content);
  return p;
}

test('reads every field, defaults the id to the line number, ignores blank lines, CRLF and a BOM', async () => {
  const path = write(
    '\uFEFF' +
      [
        '{"id":"capital-fr","prompt":"The capital of France is","completion":" Paris","kind":"factual","task":"capitals","answer":"Paris"}',
        '',
        '{"prompt":"2 + 3 =","completion":" 5","kind":"reasoning","task":"arithmetic","notes":"extra keys are ignored"}',
        '   ',
        '{"id":42,"prompt":"Once upon a time","kind":"control","completion":null,"answer":null}',
        '{"id":"last","prompt":" leading space kept "}',
      ].join('\r\n'),
  );
  const queries = await readQueries(path);
  assert.deepEqual(queries, [
    {
      id: 'capital-fr',
      prompt: 'The capital of France is',
      completion: ' Paris',
      kind: 'factual',
      task: 'capitals',
      answer: 'Paris',
      file: path,
      line: 1,
    },
    { id: '3', prompt: '2 + 3 =', completion: ' 5', kind: 'reasoning', task: 'arithmetic', file: path, line: 3 },
    { id: '42', prompt: 'Once upon a time', kind: 'control', file: path, line: 5 },
    { id: 'last', prompt: ' leading space kept ', file: path, line: 6 },
  ]);
});

const bad: Array<[string, string, number, RegExp]> = [
  ['bad JSON', '{"prompt":"a"}\n{"prompt":', 2, /:2: invalid JSON: /],
  ['an array', '["prompt"]', 1, /:1: a query must be a JSON object, not an array/],
  ['a string', '\n\n"just text"', 3, /:3: a query must be a JSON object, not a string/],
  ['missing prompt', '{"prompt":"a"}\n{"completion":"b"}', 2, /:2: missing "prompt"/],
  ['empty prompt', '{"prompt":"  "}', 1, /:1: "prompt" is empty/],
  ['prompt not a string', '{"prompt":7}', 1, /:1: "prompt" must be a string, not a number/],
  ['completion not a string', '{"prompt":"a","completion":["b"]}', 1, /:1: "completion" must be a string, not an array/],
  ['empty completion', '{"prompt":"a","completion":""}', 1, /:1: "completion" is empty/],
  ['task not a string', '{"prompt":"a","task":{}}', 1, /:1: "task" must be a string, not an object/],
  ['answer not a string', '{"prompt":"a","answer":5}', 1, /:1: "answer" must be a string, not a number/],
  ['kind not one of three', '{"prompt":"a","kind":"fact"}', 1, /:1: "kind" must be one of factual, reasoning, control, not "fact"/],
  ['kind not a string', '{"prompt":"a","kind":1}', 1, /:1: "kind" must be a string, not a number/],
  ['id of a bad type', '{"prompt":"a","id":true}', 1, /:1: "id" must be a non-empty string or a number, not a boolean/],
  ['empty id', '{"prompt":"a","id":""}', 1, /:1: "id" must be a non-empty string or a number, not an empty string/],
  ['duplicate id', '{"id":"q","prompt":"a"}\n{"id":"r","prompt":"b"}\n{"id":"q","prompt":"c"}', 3, /:3: duplicate id "q" \(also on line 1\)/],
  ['explicit id equal to a default id', '{"prompt":"a"}\n{"id":"1","prompt":"b"}', 2, /:2: duplicate id "1" \(also on line 1\)/],
  ['numeric id equal to a string id', '{"id":"7","prompt":"a"}\n{"id":7,"prompt":"b"}', 2, /:2: duplicate id "7"/],
];

for (const [name, content, line, message] of bad) {
  test(`QUERY_FORMAT at file:line: ${name}`, async () => {
    const path = write(content);
    await assert.rejects(readQueries(path), (e: unknown) => {
      assert.ok(isInfluenceLensError(e, 'QUERY_FORMAT'), String(e));
      assert.equal(e.file, path);
      assert.equal(e.line, line);
      assert.match(e.message, message);
      assert.ok(e.message.startsWith(`${path}:${line}: `), e.message);
      return true;
    });
  });
}

test('an empty query file is an error', async () => {
  for (const content of ['', '\n\r\n   \n', '\uFEFF']) {
    const path = write(content);
    await assert.rejects(readQueries(path), (e: unknown) => {
      assert.ok(isInfluenceLensError(e, 'QUERY_FORMAT'), String(e));
      assert.equal(e.file, path);
      assert.equal(e.line, undefined);
      assert.match(e.message, /no queries/);
      return true;
    });
  }
});

test('a missing query file is NOT_FOUND; a folder is refused', async () => {
  const missing = join(tmp, 'nope.jsonl');
  await assert.rejects(readQueries(missing), (e: unknown) => isInfluenceLensError(e, 'NOT_FOUND') && e.file === missing);
  await assert.rejects(readQueries(tmp), (e: unknown) => isInfluenceLensError(e, 'QUERY_FORMAT') && e.file === tmp);
});

test('parseQueries works on text (an editor buffer) with the name it is given', () => {
  assert.deepEqual(parseQueries('{"prompt":"p"}', '/x/q.jsonl'), [{ id: '1', prompt: 'p', file: '/x/q.jsonl', line: 1 }]);
});
