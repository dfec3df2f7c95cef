/**
 * The shard contract (docs/CLUSTER.md): which part of the corpus this process takes, from `--shard i/n`,
 * `--shard auto`, `--shards N` and the variables a scheduler sets. A Kubernetes Indexed Job gives each pod
 * JOB_COMPLETION_INDEX (and no count: the manifest passes --shards); a Slurm job array gives
 * SLURM_ARRAY_TASK_ID/MIN/COUNT; srun tasks get SLURM_PROCID/SLURM_NTASKS. An explicit `--shard i/n` wins
 * over all of them (every sbatch job carries SLURM_PROCID=0, SLURM_NTASKS=1); a flag that contradicts
 * the environment is refused, naming both.
 */
import { parseShard, type Shard } from '../engine/api';
import { UsageError } from './args';

/** The shard and where it came from ("SLURM_ARRAY_TASK_ID=2 − SLURM_ARRAY_TASK_MIN=0 of SLURM_ARRAY_TASK_COUNT=4"). */
export interface ResolvedShard {
  shard: Shard | undefined;
  from: string;
}

type Env = Record<string, string | undefined>;

/** A whole number ≥ min from an environment variable, or undefined when unset or empty. */
function envInt(env: Env, name: string, min = 0): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${name}=${JSON.stringify(raw)} in the environment is not a whole number ≥ ${min}`);
  return n;
}

interface EnvShard {
  index: number;
  /** Undefined where the scheduler gives no count (Kubernetes). */
  count: number | undefined;
  countFrom: string;
  from: string;
}

/** What the environment says, in the order JOB_COMPLETION_INDEX, a Slurm array, srun's task rank. */
function fromEnvironment(env: Env): EnvShard | undefined {
  const k8s = envInt(env, 'JOB_COMPLETION_INDEX');
  if (k8s !== undefined) return { index: k8s, count: undefined, countFrom: '', from: `JOB_COMPLETION_INDEX=${k8s}` };
  const task = envInt(env, 'SLURM_ARRAY_TASK_ID');
  if (task !== undefined) {
    const min = envInt(env, 'SLURM_ARRAY_TASK_MIN') ?? 0;
    const max = envInt(env, 'SLURM_ARRAY_TASK_MAX');
    const count = envInt(env, 'SLURM_ARRAY_TASK_COUNT', 1);
    // --array=1,3 has holes: its task ids minus the first do not number shards 0..n-1.
    if (count !== undefined && max !== undefined && max - min + 1 !== count) {
      throw new UsageError(
        `the Slurm array runs tasks ${min}…${max} but SLURM_ARRAY_TASK_COUNT=${count}: its ids have gaps, so they do not number the shards; ` +
          "submit a contiguous --array (resubmitting some shards: pass --shard i/n, as the plan's resubmit line does)",
      );
    }
    if (task < min) throw new UsageError(`SLURM_ARRAY_TASK_ID=${task} is below SLURM_ARRAY_TASK_MIN=${min}`);
    return { index: task - min, count, countFrom: `SLURM_ARRAY_TASK_COUNT=${count}`, from: `SLURM_ARRAY_TASK_ID=${task} − SLURM_ARRAY_TASK_MIN=${min}` };
  }
  const rank = envInt(env, 'SLURM_PROCID');
  if (rank !== undefined) {
    // sbatch sets SLURM_NTASKS only when asked for tasks (-n); without it the job is one task.
    const ntasks = envInt(env, 'SLURM_NTASKS', 1);
    const countFrom = ntasks === undefined ? 'SLURM_NTASKS unset (one task)' : `SLURM_NTASKS=${ntasks}`;
    return { index: rank, count: ntasks ?? 1, countFrom, from: `SLURM_PROCID=${rank}` };
  }
  return undefined;
}

/**
 * The shard of a corpus pass. `flag` is --shard (undefined, "auto" or "i/n"), `shards` is --shards.
 * Without --shard the environment still names one when a scheduler set it; a count of 1 is the whole
 * corpus (no shard), so a plain sbatch job (SLURM_NTASKS=1) runs unsharded.
 */
export function resolveShard(flag: string | undefined, shards: string | undefined, env: Env = process.env): ResolvedShard {
  const count = shards === undefined ? undefined : Number(shards);
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 1)) throw new UsageError(`--shards must be a whole number ≥ 1, got "${shards}"`);
  if (flag !== undefined && flag !== 'auto') {
    const shard = parseShard(flag)!;
    if (count !== undefined && count !== shard.count) throw new UsageError(`--shard ${flag} and --shards ${count} disagree on the number of shards`);
    return { shard, from: `--shard ${flag}` };
  }
  const seen = fromEnvironment(env);
  if (!seen) {
    if (flag === 'auto') {
      throw new UsageError(
        '--shard auto found no shard in the environment (JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID or SLURM_PROCID); run it as a Slurm array task, an srun task or a Kubernetes Indexed Job pod, or pass --shard i/n',
      );
    }
    if (count !== undefined && count > 1) throw new UsageError(`--shards ${count} needs --shard auto under a scheduler, or --shard i/${count}`);
    return { shard: undefined, from: 'no shard' };
  }
  if (seen.count !== undefined && count !== undefined && seen.count !== count) {
    throw new UsageError(`--shards ${count} contradicts ${seen.countFrom} in the environment`);
  }
  const n = count ?? seen.count;
  if (n === undefined) throw new UsageError(`${seen.from} names a shard but not how many there are (Kubernetes passes no count): add --shards N`);
  if (seen.index >= n)
    throw new UsageError(
      `shard ${seen.index} (${seen.from}) is not below the number of shards, ${n} (${count !== undefined ? `--shards ${count}` : seen.countFrom})`,
    );
  const from = `${seen.from} of ${count !== undefined ? `--shards ${count}` : seen.countFrom}`;
  return { shard: n === 1 ? undefined : { index: seen.index, count: n }, from };
}

/** The --shard/--shards options every corpus pass takes. */
export const SHARD_OPTIONS = {
  shard: { type: 'string' },
  shards: { type: 'string' },
} as const;
