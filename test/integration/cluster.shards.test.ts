/**
 * Retry-safe shards (docs/CLUSTER.md): a shard computed again has the same bytes, an intact shard is
 * reused by a retry, a half-written shard is never merged (status names it), and two attempts of the
 * same shard racing on one folder leave one valid result. stories260K on 30 TinyStories documents.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli as cli } from '../helpers/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

let dir: string;
let inputs: string[];
before(() => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-shards-'));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 30).join('\n') + '\n');
  inputs = ['--model', STORIES260K(), '--tokenizer', TOK512(), '--corpus', corpus, '--max-len', '48', '--workers', '1'];
});
after(() => dir && rmSync(dir, { recursive: true, force: true }));

const shardFile = (factors: string, i: number) => join(factors, 'shards', `covariance.${i}-of-3.safetensors`);
const covarianceShard = (factors: string, i: number, env: Record<string, string> = {}) =>
  cli(['fit', ...inputs, '--out', factors, '--stage', 'covariance', '--shard', 'auto', '--shards', '3'], {
    SLURM_ARRAY_TASK_ID: String(i),
    SLURM_ARRAY_TASK_MIN: '0',
    SLURM_ARRAY_TASK_COUNT: '3',
    ...env,
  });

test(
  'a shard computed again has the same bytes; a retry reuses an intact shard; a half-written one is never merged',
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    for (let i = 0; i < 3; i++) {
      const r = await covarianceShard(a, i);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, new RegExp(`shard ${i}/3 \\(SLURM_ARRAY_TASK_ID=${i} − SLURM_ARRAY_TASK_MIN=0 of --shards 3\\)`));
    }
    // Another attempt, in another folder (as on a node whose first attempt was preempted): the same bytes.
    const again = await covarianceShard(b, 1);
    assert.equal(again.code, 0, again.stderr);
    assert.ok(readFileSync(shardFile(a, 1)).equals(readFileSync(shardFile(b, 1))), 'byte-identical shard');
    assert.ok(
      readFileSync(shardFile(a, 1).replace('.safetensors', '.json')).equals(readFileSync(shardFile(b, 1).replace('.safetensors', '.json'))),
      'byte-identical record',
    );

    // A retry of a finished shard keeps it (the same file, not rewritten).
    const before = statSync(shardFile(a, 2)).mtimeMs;
    const retry = await covarianceShard(a, 2);
    assert.equal(retry.code, 0, retry.stderr);
    assert.match(retry.stderr, /covariance: reused from cache/);
    assert.equal(statSync(shardFile(a, 2)).mtimeMs, before);

    // Half-written: an attempt killed while writing leaves only its temp file; one whose file was cut short fails its hash.
    for (const f of readdirSync(join(a, 'shards'))) copyFileSync(join(a, 'shards', f), join(dir, f));
    rmSync(join(a, 'shards', 'covariance.2-of-3.json'));
    rmSync(shardFile(a, 2));
    writeFileSync(join(a, 'shards', `.covariance.2-of-3.safetensors.4242.abcd.tmp`), readFileSync(join(dir, 'covariance.2-of-3.safetensors')).subarray(0, 100));
    let merge = await cli(['merge', '--factors', a, '--stage', 'covariance']);
    assert.equal(merge.code, 1);
    assert.match(merge.stderr, /needs all 3 shards; missing 2\/3/);
    copyFileSync(join(dir, 'covariance.2-of-3.json'), join(a, 'shards', 'covariance.2-of-3.json'));
    copyFileSync(join(dir, 'covariance.2-of-3.safetensors'), shardFile(a, 2));
    truncateSync(shardFile(a, 2), 1000);
    merge = await cli(['merge', '--factors', a, '--stage', 'covariance']);
    assert.equal(merge.code, 1);
    assert.match(merge.stderr, /covariance\.2-of-3\.safetensors/);
    // The retry recomputes the damaged shard (its hash no longer matches), then the merge takes all three.
    const redo = await covarianceShard(a, 2);
    assert.equal(redo.code, 0, redo.stderr);
    assert.ok(
      readFileSync(shardFile(a, 2)).equals(readFileSync(join(dir, 'covariance.2-of-3.safetensors'))),
      "the recomputed shard has the first attempt's bytes",
    );
    // A merge job for another stage joins nothing.
    merge = await cli(['merge', '--factors', a, '--stage', 'lambda']);
    assert.equal(merge.code, 2);
    assert.match(merge.stderr, /has the covariance stage pending, not lambda; nothing was merged/);
    merge = await cli(['merge', '--factors', a, '--stage', 'covariance']);
    assert.equal(merge.code, 0, merge.stderr);
    assert.match(merge.stderr, /merged 3 shards of the covariance stage/);
    // A merge job run again (a requeue after it finished) has nothing to do and succeeds.
    merge = await cli(['merge', '--factors', a, '--stage', 'covariance']);
    assert.equal(merge.code, 0, merge.stderr);
    assert.match(merge.stderr, /the covariance stage is already merged/);
    // A late attempt of a merged stage's shard does nothing, and does not start the next stage.
    const late = await covarianceShard(a, 0);
    assert.equal(late.code, 0, late.stderr);
    assert.match(late.stderr, /the covariance stage is complete/);
    assert.doesNotMatch(late.stderr, /eigen: done/);
  },
);

test('two attempts of the same shard racing on one folder leave one valid result', { skip: SKIP_NO_SHARED, timeout: 600_000 }, async () => {
  const f = join(dir, 'race');
  const [x, y] = await Promise.all([covarianceShard(f, 0), covarianceShard(f, 0)]);
  assert.equal(x.code, 0, x.stderr);
  assert.equal(y.code, 0, y.stderr);
  assert.deepEqual(readdirSync(join(f, 'shards')).sort(), ['covariance.0-of-3.json', 'covariance.0-of-3.safetensors'], 'no temp files, one shard');
  for (const i of [1, 2]) assert.equal((await covarianceShard(f, i)).code, 0);
  const merge = await cli(['merge', '--factors', f, '--stage', 'covariance']);
  assert.equal(merge.code, 0, merge.stderr);
  assert.ok(
    readFileSync(join(f, 'covariance.safetensors')).equals(readFileSync(join(dir, 'a', 'covariance.safetensors'))),
    'the raced shard merges to the same factors',
  );
});

test(
  "a scoring shard run again writes the same bytes, results.json included, under the run's SOURCE_DATE_EPOCH",
  { skip: SKIP_NO_SHARED, timeout: 600_000 },
  async () => {
    const factors = join(dir, 'factors-full');
    const fit = await cli(['fit', ...inputs, '--out', factors, '--quiet']);
    assert.equal(fit.code, 0, fit.stderr);
    const queries = join(dir, 'queries.jsonl');
    writeFileSync(queries, JSON.stringify({ id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' }) + '\n');
    // Two attempts of shard 1/2 (a preempted task and its requeue), as a cluster plan's scripts run them.
    const attempt = async (out: string) => {
      const r = await cli(
        ['score', ...inputs, '--factors', factors, '--queries', queries, '--out', join(dir, 'scores', out), '--top', '0', '--shard', '1/2', '--quiet'],
        { SOURCE_DATE_EPOCH: '1765000000' },
      );
      assert.equal(r.code, 0, r.stderr);
      return (f: string) => readFileSync(join(dir, 'scores', out, f));
    };
    const [first, second] = [await attempt('first'), await attempt('second')];
    for (const f of ['scores.f32', 'results.json']) assert.ok(first(f).equals(second(f)), `${f}: byte-identical`);
    assert.equal((JSON.parse(first('results.json').toString('utf8')) as { createdAt: string }).createdAt, '2025-12-06T05:46:40.000Z');
  },
);
