/**
 * Bad query files: not UTF-8 (file:line), a FIFO or a device (refused at once), control sequences in
 * query fields (shown, never sent raw to the terminal). No results are written on a refusal.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { assertNoRawControls, assertRefused, fitTiny, runBounded, scoreTiny, writeCorpus, writeQueries } from '../helpers/badInput';
import { readResults } from '../../server/src/engine/results/io';

let dir: string;
let corpus: string;
let factors: string;

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-bad-queries-'));
  corpus = writeCorpus(dir, 6);
  factors = join(dir, 'factors');
  await fitTiny(corpus, factors, ['--strategy', 'kfac']);
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

test('a query line that is not UTF-8 is refused at its file:line; nothing is written', { skip: SKIP_NO_SHARED }, async () => {
  const queries = join(dir, 'latin1.jsonl');
  writeFileSync(queries, Buffer.concat([Buffer.from('{"prompt": "Once upon a time"}\n'), Buffer.from('{"prompt": "Le caf\u00e9"}\n', 'latin1')]));
  const out = join(dir, 'r-latin1');
  assertRefused(await scoreTiny(corpus, factors, queries, out), 1, `${queries}:2`, 'not valid UTF-8');
  assert.ok(!existsSync(join(out, 'results.json')));
});

test('a query file that is a FIFO or a character device is refused at once', { skip: SKIP_NO_SHARED }, async (t) => {
  const fifo = join(dir, 'queries-pipe.jsonl');
  execFileSync('mkfifo', [fifo]);
  t.after(() => rmSync(fifo, { force: true }));
  assertRefused(await scoreTiny(corpus, factors, fifo, join(dir, 'r-fifo')), 1, fifo, 'FIFO');
  assertRefused(await scoreTiny(corpus, factors, '/dev/zero', join(dir, 'r-zero')), 1, '/dev/zero', 'character device');
});

test('control sequences in query ids, prompts, completions, tasks and answers reach the terminal escaped', { skip: SKIP_NO_SHARED }, async () => {
  const evil = '\u001b]2;owned\u0007\u001b[1A\r';
  const queries = writeQueries(
    dir,
    [
      {
        id: `q${evil}`,
        prompt: `Once upon a time${evil}, there was a girl named`,
        completion: ` Lily.${evil}`,
        kind: 'factual',
        task: `t${evil}`,
        answer: `Lily${evil}`,
      },
    ],
    'evil.jsonl',
  );
  const out = join(dir, 'r-evil');
  const r = await scoreTiny(corpus, factors, queries, out, ['--top', '3', '--max-len', '128']);
  assert.equal(r.code, 0, r.stderr);
  assertNoRawControls(r.stdout + r.stderr, 'score --top');
  assert.ok(r.stdout.includes('\\u001b]2;owned\\u0007'), r.stdout);
  assert.equal(readResults(out).results.queries[0].prompt, `Once upon a time${evil}, there was a girl named`, 'the data itself is kept as it is');
  const a = await runBounded(['analyze', '--results', out, '--permutations', '10']);
  assert.equal(a.code, 0, a.stderr);
  assertNoRawControls(a.stdout + a.stderr, 'analyze');
});

test('a malformed query is refused at file:line; the fixed file scores', { skip: SKIP_NO_SHARED }, async () => {
  const queries = join(dir, 'broken.jsonl');
  writeFileSync(queries, '{"prompt": "Once upon a time"}\n{"prompt": \n');
  assertRefused(await scoreTiny(corpus, factors, queries, join(dir, 'r-broken')), 1, `${queries}:2`, 'invalid JSON');
  writeFileSync(queries, '{"prompt": "Once upon a time"}\n');
  const ok = await scoreTiny(corpus, factors, queries, join(dir, 'r-fixed'));
  assert.equal(ok.code, 0, ok.stderr);
});

test(
  'a JSONL completion of only whitespace is refused at file:line, as .infq refuses it; nothing is left; a real completion scores',
  { skip: SKIP_NO_SHARED },
  async () => {
    const queries = join(dir, 'blank-completion.jsonl');
    const out = join(dir, 'blank', 'results');
    for (const completion of ['   ', '\n\t ']) {
      writeFileSync(queries, `{"prompt": "Once upon a time"}\n${JSON.stringify({ prompt: 'Lily went to the', completion })}\n`);
      assertRefused(await scoreTiny(corpus, factors, queries, out), 1, `${queries}:2`, '"completion" is only whitespace');
      assert.ok(!existsSync(join(dir, 'blank')), 'no results folder is left');
    }
    writeFileSync(queries, `{"prompt": "Once upon a time"}\n${JSON.stringify({ prompt: 'Lily went to the', completion: ' park.' })}\n`);
    const ok = await scoreTiny(corpus, factors, queries, out);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(
      readResults(out).results.queries.map((q) => q.completion.trim() !== ''),
      [true, true],
    );
  },
);

test('an .infq file with CR-only line endings is read line by line (it was one line), errors at their line', { skip: SKIP_NO_SHARED }, async () => {
  const file = join(dir, 'old-mac.infq');
  const lines = [
    '# written on an old Mac',
    '=== lily',
    'kind: factual',
    '--- prompt',
    'Once upon a time, there was a little girl named',
    '--- completion',
    ' Lily.',
    '',
    '=== park',
    '--- prompt',
    'One day, Tom went to the',
  ];
  writeFileSync(file, [...lines.slice(0, 9), '--- nonsense', ...lines.slice(9)].join('\r'));
  const out = join(dir, 'r-cr');
  assertRefused(await scoreTiny(corpus, factors, file, out), 1, `${file}:10`, 'unknown section "nonsense"');
  assert.ok(!existsSync(out), 'no results folder is left');
  writeFileSync(file, lines.join('\r') + '\r');
  const ok = await scoreTiny(corpus, factors, file, out, ['--max-new-tokens', '4']);
  assert.equal(ok.code, 0, ok.stderr);
  const q = readResults(out).results.queries;
  assert.deepEqual(
    q.map((x) => x.id),
    ['lily', 'park'],
  );
  assert.equal(q[0].prompt, 'Once upon a time, there was a little girl named');
  assert.equal(q[0].completion, ' Lily.');
  assert.equal(q[0].kind, 'factual');
  // A CR-only JSONL file too.
  const jsonl = join(dir, 'old-mac.jsonl');
  writeFileSync(
    jsonl,
    '{"id": "a", "prompt": "Once upon a time", "completion": " there"}\r{"id": "b", "prompt": "Lily went to the", "completion": " park."}\r',
  );
  const j = await scoreTiny(corpus, factors, jsonl, join(dir, 'r-cr-jsonl'));
  assert.equal(j.code, 0, j.stderr);
  assert.deepEqual(
    readResults(join(dir, 'r-cr-jsonl')).results.queries.map((x) => x.id),
    ['a', 'b'],
  );
});
