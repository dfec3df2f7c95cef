/**
 * `cluster plan`: the Slurm scripts (arrays, throttling, requests, afterok chain) and the Kubernetes Jobs,
 * every one validated against the Kubernetes API's OpenAPI schemas (kubernetes-models 4.5.1, the API of
 * Kubernetes 1.32), and the options a plan refuses. Nothing is computed: planning reads the model's header
 * and counts the corpus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'kubernetes-models/batch/v1';
import { main } from '../../server/src/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';

function setup(t: { after: (f: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'il-plan-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 40).join('\n') + '\n');
  const queries = join(dir, 'queries.jsonl');
  writeFileSync(queries, JSON.stringify({ id: 'q', prompt: 'Once upon a time', completion: ' there was' }) + '\n');
  return { dir, args: ['--model', STORIES260K(), '--tokenizer', TOK512(), '--corpus', corpus, '--queries', queries, '--max-len', '64', '--quiet'] };
}

/** Runs the CLI in this process with stderr captured (stdout, the run folder's path, is the test reporter's). */
async function cli(argv: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const err = process.stderr.write;
  process.stderr.write = ((s: string) => ((stderr += s), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), stderr };
  } finally {
    process.stderr.write = err;
  }
}

const STAGES = ['covariance', 'merge-covariance', 'eigen', 'lambda', 'merge-lambda', 'score', 'merge-scores', 'analyze'];

test('slurm: one script per stage, arrays throttled with %, requests written, submit.sh chains them with afterok', { skip: SKIP_NO_SHARED }, async (t) => {
  const { dir, args } = setup(t);
  const run = join(dir, 'run');
  const r = await cli([
    'cluster',
    'plan',
    '--engine',
    'slurm',
    '--out',
    run,
    '--shards',
    '3',
    ...args,
    '--index',
    '--parallel',
    '2',
    '--gpus-per-shard',
    '1',
    '--cpus',
    '4',
    '--partition',
    'gpu',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(readdirSync(join(run, 'slurm')).sort(), [...STAGES.map((s) => `${s}.sbatch`), 'resubmit.sh', 'submit.sh'].sort());
  const lambda = readFileSync(join(run, 'slurm', 'lambda.sbatch'), 'utf8');
  for (const line of ['#SBATCH --array=0-2%2', '#SBATCH --cpus-per-task=4', '#SBATCH --gres=gpu:1', '#SBATCH --partition=gpu', '#SBATCH --requeue'])
    assert.ok(lambda.includes(line), line);
  assert.match(lambda, /#SBATCH --mem=\d+M\n#SBATCH --time=\d+:\d\d:00/);
  // One time for the whole run, so a requeued task writes the bytes of its first attempt.
  const epochs = STAGES.map((st) => readFileSync(join(run, 'slurm', `${st}.sbatch`), 'utf8').match(/^export SOURCE_DATE_EPOCH=(\d+)$/m)?.[1]);
  assert.ok(epochs[0] && epochs.every((e) => e === epochs[0]), `SOURCE_DATE_EPOCH in every script: ${epochs.join(', ')}`);
  assert.match(
    lambda,
    /fit .*--stage lambda --shard "\$SHARD" --shards 3 --index "[^"]*index\.parts\/\$\{SLURM_ARRAY_TASK_ID\}"|--index "[^"]*index\.parts\/\$\{SLURM_ARRAY_TASK_ID\}".*--shard "\$SHARD"/,
  );
  const merge = readFileSync(join(run, 'slurm', 'merge-lambda.sbatch'), 'utf8');
  assert.doesNotMatch(merge, /--array|--gres/, 'merges run once, without a GPU');
  assert.match(
    merge,
    /merge --factors \S+ --stage lambda\n.*merge --index \S+index\.parts\/0 --index \S+index\.parts\/1 --index \S+index\.parts\/2 --out \S+\/index\n/,
  );
  const submit = readFileSync(join(run, 'slurm', 'submit.sh'), 'utf8');
  assert.deepEqual(
    [...submit.matchAll(/\} (\S+)\.sbatch\)/g)].map((m) => m[1]),
    STAGES,
    'submitted in order',
  );
  assert.match(submit, /--kill-on-invalid-dep=yes \$\{previous:\+--dependency=afterok:\$previous\}/);
  assert.ok(statSync(join(run, 'slurm', 'submit.sh')).mode & 0o100, 'submit.sh is executable');
  const readme = readFileSync(join(run, 'README.md'), 'utf8');
  assert.match(readme, /memory per shard = 1\.25 × \(2 × weights \d+ MiB/);
  assert.match(readme, /time per shard = 2 × [\d,]+ tokens \([\d,]+ of 40 documents ÷ 3 shards\)/);
  const plan = JSON.parse(readFileSync(join(run, 'plan.json'), 'utf8')) as { shards: number; stages: { name: string }[] };
  assert.equal(plan.shards, 3);
  assert.deepEqual(
    plan.stages.map((s) => s.name),
    STAGES,
  );
});

test('kubernetes: Indexed Jobs for the sharded stages, plain Jobs for merges, all valid against the API schemas', { skip: SKIP_NO_SHARED }, async (t) => {
  const { dir, args } = setup(t);
  const run = join(dir, 'run');
  const r = await cli([
    'cluster',
    'plan',
    '--engine',
    'kubernetes',
    '--out',
    run,
    '--shards',
    '4',
    ...args,
    '--image',
    'registry.example/influence-lens:0.1.0',
    '--volume',
    `shared:${dir}`,
    '--gpus-per-shard',
    '1',
    '--memory',
    '6G',
    '--retries',
    '2',
    '--parallel',
    '3',
  ]);
  assert.equal(r.code, 0, r.stderr);
  const files = readdirSync(join(run, 'kubernetes'))
    .filter((f) => f.endsWith('.json'))
    .sort();
  assert.deepEqual(
    files,
    STAGES.map((s, i) => `0${i + 1}-${s}.json`),
  );
  for (const f of files) {
    const m = JSON.parse(readFileSync(join(run, 'kubernetes', f), 'utf8'));
    assert.doesNotThrow(() => new Job(m).validate(), `${f} validates`);
    const pod = m.spec.template.spec;
    assert.equal(pod.restartPolicy, 'Never');
    assert.deepEqual(pod.volumes, [{ name: 'data', persistentVolumeClaim: { claimName: 'shared' } }]);
    const c = pod.containers[0];
    assert.equal(c.image, 'registry.example/influence-lens:0.1.0');
    assert.match(c.env.find((e: { name: string }) => e.name === 'SOURCE_DATE_EPOCH')?.value ?? '', /^\d+$/, "every pod records the run's time");
    if (/^\d\d-(covariance|lambda|score)\.json$/.test(f)) {
      assert.equal(m.spec.completionMode, 'Indexed');
      assert.equal(m.spec.completions, 4);
      assert.equal(m.spec.parallelism, 3);
      assert.equal(m.spec.backoffLimitPerIndex, 2);
      assert.equal(m.spec.podReplacementPolicy, 'Failed');
      assert.deepEqual(c.resources.requests, { cpu: '2', memory: '6144Mi', 'nvidia.com/gpu': '1' });
      assert.equal(c.resources.limits['nvidia.com/gpu'], '1');
      assert.deepEqual(c.args.slice(-4), ['--shard', 'auto', '--shards', '4'], 'Kubernetes gives the pod no count: --shards passes it');
      assert.match(c.env[0].valueFrom.fieldRef.fieldPath, /batch\.kubernetes\.io\/job-completion-index/);
    } else {
      assert.equal(m.spec.completionMode, undefined);
      assert.equal(c.resources.requests['nvidia.com/gpu'], undefined);
    }
  }
  const score = JSON.parse(readFileSync(join(run, 'kubernetes', '06-score.json'), 'utf8'));
  assert.ok(
    score.spec.template.spec.containers[0].args.some((a: string) => a.endsWith('/scores.parts/$(SHARD_INDEX)')),
    'each pod writes its own part',
  );
  const apply = readFileSync(join(run, 'kubernetes', 'apply.sh'), 'utf8');
  assert.deepEqual(
    [...apply.matchAll(/^run_job (\S+) (\S+)$/gm)].map((m) => m[1]),
    files,
  );
  assert.match(apply, /kubectl wait --for=condition=complete/);
  // A manifest the schemas refuse is refused (the check can fail).
  const broken = JSON.parse(readFileSync(join(run, 'kubernetes', files[0]), 'utf8'));
  broken.spec.completions = '4';
  assert.throws(() => new Job(broken).validate(), /completions must be integer/);
});

test('plans that cannot work are refused, naming the option', { skip: SKIP_NO_SHARED }, async (t) => {
  const { dir, args } = setup(t);
  const run = join(dir, 'run');
  const cases: [string[], RegExp][] = [
    [['--engine', 'kubernetes', '--volume', 'shared:/elsewhere', '--image', 'x'], /--out .* is not under the volume's mount path \/elsewhere/],
    [['--engine', 'kubernetes', '--volume', 'shared', '--image', 'x'], /--volume must be CLAIM:\/mount\/path/],
    [['--engine', 'kubernetes', '--volume', `shared:${dir}`], /missing --image/],
    [['--engine', 'slurm', '--image', 'x'], /--image and --volume are for --engine kubernetes/],
    [['--engine', 'pbs'], /--engine must be one of slurm, kubernetes/],
    [['--engine', 'slurm', '--memory', 'lots'], /--memory must be like 16G/],
  ];
  for (const [extra, message] of cases) {
    const r = await cli(['cluster', 'plan', '--out', run, '--shards', '2', ...args, ...extra]);
    assert.equal(r.code, 2, extra.join(' '));
    assert.match(r.stderr, message);
  }
});
