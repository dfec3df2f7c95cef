import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../server/src/cli';
import { parseLabels } from '../../server/src/engine/eval/labels';
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
  const method = await cli(['eval', 'lds', '--corpus', join(dir, 'c.jsonl'), '--tokenizer', dir, '--queries', queries, '--out', dir, '--methods', 'ekfac-sampled,bm25']);
  assert.equal(method.code, 2);
  assert.match(method.stderr, /unknown method "bm25"/);
});

test('labels: a malformed line is an error naming file and line', () => {
  const text = [JSON.stringify({ document: 'a', facts: [], procedures: [] }), JSON.stringify({ document: 'b', facts: [{ subject: 'x' }], procedures: [] })].join('\n');
  assert.throws(
    () => parseLabels(text, 'labels.jsonl'),
    (e: unknown) => isInfluenceLensError(e, 'LABELS_FORMAT') && e.line === 2 && /labels\.jsonl:2: facts\[0\]/.test(e.message),
  );
  assert.throws(() => parseLabels('{"document": "a", "facts": [], "procedures": []}\n{"document": "a", "facts": [], "procedures": []}', 'l'), /labelled twice/);
});

test('LDS subsets: seeded, half the documents, distinct, different per model', () => {
  const a = ldsSubset(100, 0.5, 0, 0);
  assert.deepEqual(a, ldsSubset(100, 0.5, 0, 0));
  assert.equal(a.length, 50);
  assert.equal(new Set(a).size, 50);
  assert.notDeepEqual(a, ldsSubset(100, 0.5, 0, 1));
  assert.notDeepEqual(a, ldsSubset(100, 0.5, 1, 0));
});
