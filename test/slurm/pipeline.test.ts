/**
 * The planned pipeline under a real Slurm (scripts/slurm-setup.sh: slurmctld + slurmd + munged on this
 * machine): `cluster plan --engine slurm` then its submit.sh, stories260K on 200 TinyStories documents in 4
 * shards run two at a time; one covariance task and one scoring task are killed mid-run and requeued. The
 * merged factors and scores match one process's, the requeued scoring shard has the same bytes as that
 * shard computed in one process, and `status` reports every stage done.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readManifest, readStage } from '../../server/src/engine/ekfac/store';
import { readResults } from '../../server/src/engine/results/io';
import { runCli as cli } from '../helpers/cli';
import { assertRelClose } from '../helpers/compare';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

const hasSlurm = (() => {
  try {
    return /idle|mixed|alloc/.test(execFileSync('sinfo', ['-h', '-o', '%T'], { encoding: 'utf8' }));
  } catch {
    return false;
  }
})();
const SKIP = SKIP_NO_SHARED || (hasSlurm ? false : 'skipped: no Slurm answers here (run scripts/slurm-setup.sh as root)');

/** The environment without a scheduler's shard variables (the test itself may run inside a job). */
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(SLURM_|JOB_COMPLETION_INDEX)/.test(k)));
const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', env: cleanEnv });

/** Polls the scheduler (an external process: nothing to wait on but its answers) until `cond`, at most `ms`. */
async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const taskState = (id: string) =>
  sh('squeue', ['-h', '-r', '-j', id.split('_')[0], '-o', '%i %t'])
    .split('\n')
    .find((l) => l.startsWith(`${id} `))
    ?.split(' ')[1];

/** Requeues an array task once it runs: Slurm kills it and runs it again. */
async function killMidRun(task: string): Promise<void> {
  await until(`${task} to run`, () => taskState(task) === 'R', 300_000);
  sh('scontrol', ['requeue', task]);
}

test('the planned pipeline runs to the end under Slurm, survives a killed task, and equals one process', { skip: SKIP, timeout: 1_200_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-slurm-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 200).join('\n') + '\n');
  const queries = join(dir, 'queries.jsonl');
  writeFileSync(
    queries,
    [
      { id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' },
      { id: 'park', prompt: 'One day, Tom went to the park and', completion: ' played with his ball.' },
    ]
      .map((q) => JSON.stringify(q))
      .join('\n') + '\n',
  );
  const model = ['--model', STORIES260K(), '--tokenizer', TOK512()];
  const common = ['--max-len', '64', '--workers', '1'];
  const run = join(dir, 'run');

  const planned = await cli([
    'cluster',
    'plan',
    '--engine',
    'slurm',
    '--out',
    run,
    '--shards',
    '4',
    ...model,
    '--corpus',
    corpus,
    '--queries',
    queries,
    ...common,
    '--cpus',
    '1',
    '--parallel',
    '2',
  ]);
  assert.equal(planned.code, 0, planned.stderr);
  const sbatch = readFileSync(join(run, 'slurm', 'lambda.sbatch'), 'utf8');
  assert.match(sbatch, /#SBATCH --array=0-3%2/);
  assert.match(sbatch, /--shard "\$SHARD" --shards 4/);

  const ids = new Map(
    sh('bash', [join(run, 'slurm', 'submit.sh')])
      .trim()
      .split('\n')
      .map((l) => l.split(' ') as [string, string]),
  );
  assert.deepEqual([...ids.keys()], ['covariance', 'merge-covariance', 'eigen', 'lambda', 'merge-lambda', 'score', 'merge-scores', 'analyze']);
  assert.match(sh('scontrol', ['show', 'job', ids.get('lambda')!]), new RegExp(`Dependency=afterok:${ids.get('eigen')}`));

  await killMidRun(`${ids.get('covariance')}_1`);
  await killMidRun(`${ids.get('score')}_2`);
  await until('every job to leave the queue', () => sh('squeue', ['-h', '-j', [...ids.values()].join(',')]).trim() === '', 900_000);

  for (const [stage, id] of ids) assert.doesNotMatch(sh('scontrol', ['show', 'job', id]), /JobState=(?!COMPLETED)/, `${stage} (job ${id}) did not complete`);
  assert.match(sh('scontrol', ['show', 'job', `${ids.get('covariance')}_1`]), /Restarts=[1-9]/, 'the covariance task was requeued');
  assert.match(sh('scontrol', ['show', 'job', `${ids.get('score')}_2`]), /Restarts=[1-9]/, 'the scoring task was requeued');

  const status = await cli(['status', run, '--json']);
  assert.equal(status.code, 0, status.stderr);
  const stages = (JSON.parse(status.stdout) as { stages: { name: string; state: string }[] }).stages;
  assert.deepEqual(
    stages.filter((s) => s.state !== 'done'),
    [],
    'status: every stage done',
  );

  // One process, the same options: factors and scores agree; the requeued shard is the same bytes.
  const single = join(dir, 'single');
  const inputs = [...model, '--corpus', corpus, ...common];
  const fit = await cli(['fit', ...inputs, '--out', join(single, 'factors'), '--quiet']);
  assert.equal(fit.code, 0, fit.stderr);
  const score = await cli([
    'score',
    ...inputs,
    '--factors',
    join(single, 'factors'),
    '--queries',
    queries,
    '--out',
    join(single, 'results'),
    '--top',
    '0',
    '--quiet',
  ]);
  assert.equal(score.code, 0, score.stderr);
  const part = await cli([
    'score',
    ...inputs,
    '--factors',
    join(run, 'factors'),
    '--queries',
    queries,
    '--out',
    join(single, 'part2'),
    '--top',
    '0',
    '--shard',
    '2/4',
    '--quiet',
  ]);
  assert.equal(part.code, 0, part.stderr);
  assert.ok(
    readFileSync(join(single, 'part2', 'scores.f32')).equals(readFileSync(join(run, 'scores.parts', '2', 'scores.f32'))),
    'the requeued scoring shard has the bytes of one process',
  );

  const stage = async (d: string, s: 'covariance' | 'lambda') => readStage(d, readManifest(d)!, s);
  for (const s of ['covariance', 'lambda'] as const) {
    const [a, b] = [await stage(join(single, 'factors'), s), await stage(join(run, 'factors'), s)];
    // Λ is computed in eigenbases of the merged covariance, which differ from one pass's by its float32 rounding.
    for (const [name, x] of a) assertRelClose(b.get(name)!.data, x.data, s === 'covariance' ? 1e-6 : 1e-5, `${s} ${name}`);
  }
  const [one, merged] = [readResults(join(single, 'results')), readResults(join(run, 'results'))];
  assert.deepEqual(
    merged.results.documents.map((d) => d.index),
    one.results.documents.map((d) => d.index),
  );
  assertRelClose(merged.scores, one.scores, 1e-6, 'merged scores');
  assert.ok(readFileSync(join(run, 'results', 'report.html'), 'utf8').length > 1000, 'analyze wrote the report');
});
