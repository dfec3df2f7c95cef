import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../server/src/cli';
import { parseLabels, readLabels } from '../../server/src/engine/eval/labels';
import { ldsSubset } from '../../server/src/engine/eval/lds';
import { isInfluenceLensError } from '../../server/src/engine/errors';

/** Runs the CLI with stderr captured. */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  const write = process.stderr.write.bind(process.stderr);
  let stderr = '';
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = write;
  }
}

test('eval: usage errors exit 2 and say what is wrong', async () => {
  const none = await cli(['eval']);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /eval needs "facts" or "lds"/);
  const dir = mkdtempSync(join(tmpdir(), 'il-evalcli-'));
  const queries = join(dir, 'q.jsonl');
  writeFileSync(queries, JSON.stringify({ id: 'a', prompt: 'p', completion: ' c' }) + '\n');
  const fraction = await cli(['eval', 'lds', '--corpus', join(dir, 'c.jsonl'), '--tokenizer', dir, '--queries', queries, '--out', dir, '--fraction', '1.5']);
  assert.equal(fraction.code, 2);
  assert.match(fraction.stderr, /--fraction must be between 0 and 1/);
  const method = await cli([
    'eval',
    'lds',
    '--corpus',
    join(dir, 'c.jsonl'),
    '--tokenizer',
    dir,
    '--queries',
    queries,
    '--out',
    dir,
    '--methods',
    'ekfac-sampled,bm25',
  ]);
  assert.equal(method.code, 2);
  assert.match(method.stderr, /unknown method "bm25"/);
});

test('labels: a malformed line is an error naming file and line', () => {
  const text = [
    JSON.stringify({ document: 'a', facts: [], procedures: [] }),
    JSON.stringify({ document: 'b', facts: [{ subject: 'x' }], procedures: [] }),
  ].join('\n');
  assert.throws(
    () => parseLabels(text, 'labels.jsonl'),
    (e: unknown) => isInfluenceLensError(e, 'LABELS_FORMAT') && e.line === 2 && /labels\.jsonl:2: facts\[0\]/.test(e.message),
  );
  assert.throws(() => parseLabels('{"document": "a", "facts": [], "procedures": []}\n{"document": "a", "facts": [], "procedures": []}', 'l'), /labelled twice/);
});

test("labels: malformed JSON names the file and line, never the line's bytes; a FIFO or missing file is a sentence", (t) => {
  const SECRET = 'ghp_secretToken1234567890';
  const good = JSON.stringify({ document: 'a', facts: [], procedures: [] });
  for (const bad of [`{"document": ${SECRET}}`, `${SECRET}`, `{"document": "a"} ${SECRET}`, `{"document": "${SECRET}`]) {
    assert.throws(
      () => parseLabels(`${good}\n${bad}\n`, 'labels.jsonl'),
      (e: unknown) =>
        isInfluenceLensError(e, 'LABELS_FORMAT') &&
        e.line === 2 &&
        e.message.startsWith('labels.jsonl:2: invalid JSON') &&
        !e.message.includes(SECRET) &&
        !e.message.includes('ghp_'),
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'il-labels-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const fifo = join(dir, 'labels.jsonl');
  execFileSync('mkfifo', [fifo]);
  assert.throws(
    () => readLabels(fifo),
    (e: unknown) => isInfluenceLensError(e, 'NOT_A_FILE') && e.message.includes(fifo) && e.message.includes('FIFO'),
  );
  const missing = join(dir, 'none.jsonl');
  assert.throws(
    () => readLabels(missing),
    (e: unknown) => isInfluenceLensError(e, 'NOT_FOUND') && e.message.includes(missing) && !e.message.includes('ENOENT'),
  );
  const file = join(dir, 'ok.jsonl');
  writeFileSync(file, good + '\n');
  assert.equal(readLabels(file).documents.size, 1);
});

test('LDS subsets: seeded, half the documents, distinct, different per model', () => {
  const a = ldsSubset(100, 0.5, 0, 0);
  assert.deepEqual(a, ldsSubset(100, 0.5, 0, 0));
  assert.equal(a.length, 50);
  assert.equal(new Set(a).size, 50);
  assert.notDeepEqual(a, ldsSubset(100, 0.5, 0, 1));
  assert.notDeepEqual(a, ldsSubset(100, 0.5, 1, 0));
});
