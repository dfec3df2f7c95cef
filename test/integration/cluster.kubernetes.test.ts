/**
 * The Kubernetes plan run without a cluster: test/helpers/indexedJobs.ts starts each Job's pods as
 * processes with the manifest's command and env and JOB_COMPLETION_INDEX (nothing else), in apply.sh's
 * order; one Λ pod is killed mid-run and retried under backoffLimitPerIndex. The merged factors and
 * scores match one process's, the index parts written in the Λ pass merge into one index, and `status`
 * reports every stage done (before: what is missing).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, readStage } from '../../server/src/engine/ekfac/store';
import { readResults } from '../../server/src/engine/results/io';
import { CLI, runCli as cli } from '../helpers/cli';
import { assertRelClose } from '../helpers/compare';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { runJobs } from '../helpers/indexedJobs';

test('the Kubernetes plan, its pods run as processes, survives a killed pod and equals one process', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-k8s-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 60).join('\n') + '\n');
  const queries = join(dir, 'queries.jsonl');
  writeFileSync(queries, JSON.stringify({ id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' }) + '\n');
  const inputs = ['--model', STORIES260K(), '--tokenizer', TOK512(), '--corpus', corpus, '--max-len', '48', '--workers', '1'];
  const run = join(dir, 'run');
  // The image's CLI is this checkout's (the harness has no image): the same bundle the Dockerfile copies.
  const plan = await cli([
    'cluster',
    'plan',
    '--engine',
    'kubernetes',
    '--out',
    run,
    '--shards',
    '3',
    ...inputs,
    '--queries',
    queries,
    '--image',
    'influence-lens:test',
    '--volume',
    `shared:${dir}`,
    '--parallel',
    '2',
    '--retries',
    '1',
    '--index',
    '--cli',
    `node ${CLI}`,
  ]);
  assert.equal(plan.code, 0, plan.stderr);

  const before = await cli(['status', run]);
  assert.match(before.stdout, /covariance\s+pending\s+shards: 0 done, 3 missing, 0 corrupt/);
  assert.match(before.stdout, /next: covariance; to resume: bash \S+kubernetes\/apply\.sh/);

  const files = readdirSync(join(run, 'kubernetes'))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => join(run, 'kubernetes', f));
  let killed = false;
  const pods = await runJobs(files, {
    onStderr: (pod, stderr) => {
      // Mid-run: once the Λ pass has started reading documents.
      if (!killed && pod.job.endsWith('-lambda') && pod.index === 1 && pod.attempt === 0 && /fit lambda shard 1\/3/.test(stderr)) {
        killed = true;
        pod.kill();
      }
    },
  });
  assert.ok(killed, 'a Λ pod was killed mid-run');
  assert.deepEqual(
    pods.filter((p) => p.code !== 0).map((p) => `${p.job}#${p.index}`),
    ['run-lambda#1'],
  );
  assert.ok(
    pods.some((p) => p.job === 'run-lambda' && p.index === 1 && p.attempt === 1 && p.code === 0),
    'its retry succeeded',
  );
  assert.match(pods.find((p) => p.job === 'run-score' && p.index === 2)!.stderr, /shard 2\/3 \(JOB_COMPLETION_INDEX=2 of --shards 3\)/);

  const index = JSON.parse(readFileSync(join(run, 'index', 'manifest.json'), 'utf8')) as { documents: number };
  assert.equal(index.documents, 60, 'the index parts written in the Λ pass were merged');
  const after = await cli(['status', run, '--json']);
  assert.deepEqual(
    (JSON.parse(after.stdout) as { stages: { state: string }[] }).stages.filter((s) => s.state !== 'done'),
    [],
  );

  const single = join(dir, 'single');
  assert.equal((await cli(['fit', ...inputs, '--out', join(single, 'factors'), '--quiet'])).code, 0);
  assert.equal(
    (await cli(['score', ...inputs, '--factors', join(single, 'factors'), '--queries', queries, '--out', join(single, 'results'), '--top', '0', '--quiet']))
      .code,
    0,
  );
  for (const s of ['covariance', 'lambda'] as const) {
    const a = await readStage(join(single, 'factors'), readManifest(join(single, 'factors'))!, s);
    const b = await readStage(join(run, 'factors'), readManifest(join(run, 'factors'))!, s);
    for (const [name, x] of a) assertRelClose(b.get(name)!.data, x.data, s === 'covariance' ? 1e-6 : 1e-5, `${s} ${name}`);
  }
  assertRelClose(readResults(join(run, 'results')).scores, readResults(join(single, 'results')).scores, 1e-6, 'merged scores');

  // What status tells a user after losing work: a damaged part (named, with why) and a missing one.
  const part = (i: number, f: string) => join(run, 'scores.parts', String(i), f);
  writeFileSync(part(1, 'scores.f32'), Buffer.concat([readFileSync(part(1, 'scores.f32')), Buffer.from([0])]));
  rmSync(part(2, 'results.json'));
  const damaged = await cli(['status', run]);
  assert.match(damaged.stdout, /score\s+pending\s+shards: 1 done, 1 missing, 1 corrupt/);
  assert.match(damaged.stdout, /shard 1: corrupt: .*scores\.f32 has \d+ bytes; expected \d+/);
  assert.match(damaged.stdout, /shard 2: missing/);
  assert.match(damaged.stdout, /next: score; to resume: bash \S+\/kubernetes\/apply\.sh/);
});
