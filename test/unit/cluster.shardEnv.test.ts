/** The shard contract: --shard i/n|auto, --shards N and the scheduler's variables, every combination and contradiction. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveShard } from '../../server/src/cli/shardEnv';

const ARRAY = {
  SLURM_ARRAY_TASK_ID: '5',
  SLURM_ARRAY_TASK_MIN: '3',
  SLURM_ARRAY_TASK_MAX: '6',
  SLURM_ARRAY_TASK_COUNT: '4',
  SLURM_PROCID: '0',
  SLURM_NTASKS: '1',
};
const SRUN = { SLURM_PROCID: '2', SLURM_NTASKS: '3' };
const POD = { JOB_COMPLETION_INDEX: '1' };
const shardOf = (flag: string | undefined, shards: string | undefined, env: Record<string, string>) => resolveShard(flag, shards, env).shard;

test('an explicit --shard i/n is used as written, whatever the environment says', () => {
  for (const env of [{}, ARRAY, SRUN, POD]) assert.deepEqual(shardOf('1/4', undefined, env), { index: 1, count: 4 });
  assert.deepEqual(shardOf('2/4', '4', ARRAY), { index: 2, count: 4 });
  assert.throws(() => resolveShard('1/4', '8', {}), /--shard 1\/4 and --shards 8 disagree/);
  assert.throws(() => resolveShard('4/4', undefined, {}), /--shard must be i\/n/);
});

test("a Slurm array: the task id minus the first, of the array's count", () => {
  for (const flag of ['auto', undefined]) {
    const r = resolveShard(flag, undefined, ARRAY);
    assert.deepEqual(r.shard, { index: 2, count: 4 });
    assert.match(r.from, /SLURM_ARRAY_TASK_ID=5 − SLURM_ARRAY_TASK_MIN=3 of SLURM_ARRAY_TASK_COUNT=4/);
  }
  assert.deepEqual(shardOf('auto', '4', ARRAY), { index: 2, count: 4 }, '--shards that agrees');
  assert.throws(() => resolveShard('auto', '8', ARRAY), /--shards 8 contradicts SLURM_ARRAY_TASK_COUNT=4/);
  // Without a count the flag supplies it; without MIN the ids start at 0.
  assert.deepEqual(shardOf('auto', '6', { SLURM_ARRAY_TASK_ID: '5' }), { index: 5, count: 6 });
  assert.throws(
    () => resolveShard('auto', undefined, { SLURM_ARRAY_TASK_ID: '5' }),
    /SLURM_ARRAY_TASK_ID=5 − SLURM_ARRAY_TASK_MIN=0 names a shard but not how many/,
  );
  assert.throws(() => resolveShard('auto', undefined, { ...ARRAY, SLURM_ARRAY_TASK_MAX: '9' }), /its ids have gaps/);
  assert.throws(
    () => resolveShard('auto', undefined, { ...ARRAY, SLURM_ARRAY_TASK_ID: 'x' }),
    /SLURM_ARRAY_TASK_ID="x" in the environment is not a whole number/,
  );
});

test('srun tasks: SLURM_PROCID of SLURM_NTASKS; a plain sbatch job (one task) is the whole corpus', () => {
  assert.deepEqual(shardOf('auto', undefined, SRUN), { index: 2, count: 3 });
  assert.deepEqual(shardOf(undefined, '3', SRUN), { index: 2, count: 3 });
  assert.throws(() => resolveShard('auto', '4', SRUN), /--shards 4 contradicts SLURM_NTASKS=3/);
  assert.equal(shardOf(undefined, undefined, { SLURM_PROCID: '0', SLURM_NTASKS: '1' }), undefined);
  assert.throws(() => resolveShard(undefined, '4', { SLURM_PROCID: '0', SLURM_NTASKS: '1' }), /--shards 4 contradicts SLURM_NTASKS=1/);
  // sbatch without -n sets SLURM_PROCID but not SLURM_NTASKS: one task.
  assert.equal(shardOf(undefined, undefined, { SLURM_PROCID: '0' }), undefined);
  assert.throws(() => resolveShard('auto', '4', { SLURM_PROCID: '0' }), /--shards 4 contradicts SLURM_NTASKS unset \(one task\)/);
});

test('a Kubernetes Indexed Job pod: JOB_COMPLETION_INDEX of --shards, which the manifest must pass', () => {
  assert.deepEqual(shardOf('auto', '4', POD), { index: 1, count: 4 });
  assert.deepEqual(shardOf(undefined, '4', POD), { index: 1, count: 4 });
  assert.deepEqual(shardOf('auto', '4', { ...POD, ...SRUN }), { index: 1, count: 4 }, 'the pod index comes first');
  assert.throws(
    () => resolveShard('auto', undefined, POD),
    /JOB_COMPLETION_INDEX=1 names a shard but not how many there are \(Kubernetes passes no count\): add --shards N/,
  );
  assert.throws(
    () => resolveShard('auto', '1', { JOB_COMPLETION_INDEX: '3' }),
    /shard 3 \(JOB_COMPLETION_INDEX=3\) is not below the number of shards, 1 \(--shards 1\)/,
  );
});

test('no scheduler: --shard auto is refused; no flag is the whole corpus', () => {
  assert.throws(() => resolveShard('auto', undefined, {}), /--shard auto found no shard in the environment/);
  assert.throws(() => resolveShard(undefined, '4', {}), /--shards 4 needs --shard auto under a scheduler, or --shard i\/4/);
  assert.equal(shardOf(undefined, undefined, {}), undefined);
  assert.equal(shardOf(undefined, '1', {}), undefined);
  assert.throws(() => resolveShard(undefined, '0', {}), /--shards must be a whole number ≥ 1/);
  assert.equal(shardOf(undefined, undefined, { SLURM_PROCID: '' }), undefined, 'an empty variable is unset');
});
