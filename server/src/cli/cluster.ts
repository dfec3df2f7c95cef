/** `cluster plan`: a run folder for Slurm or Kubernetes (docs/CLUSTER.md); `status RUN_DIR`: what is done. */
import { realpathSync } from 'node:fs';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { readQueries, safeForTerminal } from '../engine/api';
import { writePlan, type Engine } from '../cluster/plan';
import { runStatus, type StageStatus } from '../cluster/status';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, oneOf, optStr, parse, str, UsageError } from './args';
import { corpusOptions } from './context';

const ENGINES: readonly Engine[] = ['slurm', 'kubernetes'];

export async function cluster(argv: string[], signal: AbortSignal): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'plan') throw new UsageError(`cluster needs a subcommand: cluster plan …${sub ? ` (got "${sub}")` : ''}`);
  await plan(rest, signal);
}

/** "16G", "16000M", "16384" (MiB) → MiB. */
function memoryMiB(s: string | undefined): number | undefined {
  if (s === undefined) return undefined;
  const m = /^(\d+(?:\.\d+)?)([MG]i?)?$/i.exec(s.trim());
  if (!m) throw new UsageError(`--memory must be like 16G or 16000M, got "${s}"`);
  return Math.ceil(Number(m[1]) * (m[2]?.toUpperCase().startsWith('G') ? 1024 : 1));
}

/** Values passed through to the stage commands as they were given. */
function passThrough(v: Record<string, unknown>, names: string[]): string[] {
  return names.flatMap((n) => (typeof v[n] === 'string' && v[n] !== '' ? [`--${n}`, v[n] as string] : []));
}

async function plan(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    engine: { type: 'string' },
    out: { type: 'string' },
    shards: { type: 'string' },
    queries: { type: 'string' },
    'max-len': { type: 'string' },
    'max-docs': { type: 'string' },
    modules: { type: 'string' },
    seed: { type: 'string' },
    damping: { type: 'string' },
    rank: { type: 'string' },
    index: { type: 'boolean', default: false },
    'gpus-per-shard': { type: 'string', default: '0' },
    cpus: { type: 'string', default: '2' },
    memory: { type: 'string' },
    parallel: { type: 'string' },
    partition: { type: 'string' },
    image: { type: 'string' },
    volume: { type: 'string' },
    name: { type: 'string' },
    retries: { type: 'string', default: '3' },
    'tokens-per-second': { type: 'string' },
    cli: { type: 'string' },
  });
  if (!optStr(v, 'engine')) throw new UsageError(`missing --engine (${ENGINES.join(' or ')})`);
  const engine = oneOf(v, 'engine', ENGINES, 'slurm');
  const run = resolve(str(v, 'out'));
  const shards = int(v, 'shards')!;
  if (shards === undefined) throw new UsageError('missing --shards');
  const abs = (name: string) => resolve(str(v, name));
  const model = abs('model');
  const corpus = corpusOptions(v);
  const queries = abs('queries');
  const queriesCount = (await readQueries(queries)).length;
  const workers = optStr(v, 'workers');
  let kubernetes;
  let cli: string[];
  if (engine === 'kubernetes') {
    const image = str(v, 'image');
    const volume = str(v, 'volume');
    const [claim, mountPath] = volume.split(':');
    if (!claim || !mountPath || !isAbsolute(mountPath))
      throw new UsageError(`--volume must be CLAIM:/mount/path (a ReadWriteMany PersistentVolumeClaim and where pods mount it), got "${volume}"`);
    // The pods see the run folder where this machine does: it must lie on the volume.
    const rel = relative(mountPath, run);
    if (rel.startsWith('..') || isAbsolute(rel))
      throw new UsageError(`--out ${run} is not under the volume's mount path ${mountPath}: the pods would not see it`);
    const name =
      (optStr(v, 'name') ?? basename(run))
        .toLowerCase()
        .replace(/[^a-z0-9-]+/g, '-')
        .replace(/^-+|-+$/g, '')
        .slice(0, 40) || 'influence-lens';
    kubernetes = { name, image, claim, mountPath, retriesPerShard: int(v, 'retries', { min: 0 })! };
    cli = optStr(v, 'cli')?.split(' ') ?? ['node', '/app/bin/influence-lens.js'];
  } else {
    if (optStr(v, 'image') || optStr(v, 'volume')) throw new UsageError('--image and --volume are for --engine kubernetes');
    cli = optStr(v, 'cli')?.split(' ') ?? [process.execPath, realpathSync(process.argv[1])];
  }
  const written = await writePlan(
    {
      run,
      engine,
      model,
      tokenizer: optStr(v, 'tokenizer') && abs('tokenizer'),
      corpus: resolve(corpus.path),
      corpusOptions: corpus,
      corpusFields: passThrough(v, ['text-field', 'id-field', 'source-field']),
      queries,
      shards,
      common: [
        ...passThrough(v, ['max-len', 'batch-size']),
        ...(optStr(v, 'backend') !== 'auto' ? ['--backend', str(v, 'backend')] : []),
        ...(workers ? ['--workers', workers] : []),
      ],
      fit: passThrough(v, ['max-docs', 'seed', 'modules']),
      score: passThrough(v, ['damping', 'rank']),
      index: v.index === true,
      maxLen: int(v, 'max-len', { min: 2 }),
      batchSize: int(v, 'batch-size') ?? 8,
      queriesCount,
      tokensPerSecond: num(v, 'tokens-per-second'),
      cpus: int(v, 'cpus')!,
      gpus: int(v, 'gpus-per-shard', { min: 0 })!,
      memoryMiB: memoryMiB(optStr(v, 'memory')),
      parallel: int(v, 'parallel'),
      partition: optStr(v, 'partition'),
      cli,
      kubernetes,
    },
    signal,
  );
  if (v.quiet !== true) {
    const start = engine === 'slurm' ? `${run}/slurm/submit.sh` : `${run}/kubernetes/apply.sh`;
    process.stderr.write(
      safeForTerminal(`influence-lens: planned ${written.stages.length} stages, ${shards} shards, in ${run}; start with: bash ${start}\n`, { multiline: true }),
    );
  }
  process.stdout.write(`${run}\n`);
}

export async function status(argv: string[]): Promise<void> {
  const dirs = argv.filter((a) => !a.startsWith('--'));
  const v = parse(
    argv.filter((a) => a.startsWith('--')),
    { ...COMMON_OPTIONS, json: { type: 'boolean', default: false } },
  );
  if (dirs.length !== 1) throw new UsageError('status needs one run folder: influence-lens status RUN_DIR');
  const run = resolve(dirs[0]);
  const { plan, stages } = await runStatus(run);
  if (v.json === true) {
    process.stdout.write(JSON.stringify({ run, engine: plan.engine, shards: plan.shards, stages }, null, 2) + '\n');
    return;
  }
  process.stdout.write(safeForTerminal(describe(run, plan.engine, stages), { multiline: true }));
}

function describe(run: string, engine: Engine, stages: StageStatus[]): string {
  const lines = [`run ${run} (${engine})`];
  const first = stages.find((s) => s.state !== 'done');
  for (const s of stages) {
    const counts = s.shards && (['done', 'missing', 'corrupt'] as const).map((k) => `${s.shards!.filter((x) => x.state === k).length} ${k}`).join(', ');
    lines.push(`  ${s.name.padEnd(17)} ${s.state.padEnd(8)}${counts ? ` shards: ${counts}` : ''}`);
    for (const x of s.shards ?? []) {
      if (x.state === 'missing') lines.push(`    shard ${x.shard}: missing`);
      if (x.state === 'corrupt') lines.push(`    shard ${x.shard}: corrupt: ${x.why}`);
    }
  }
  if (!first) lines.push('every stage is done');
  else {
    const redo = first.shards?.filter((x) => x.state !== 'done').map((x) => x.shard) ?? [];
    const how =
      engine === 'slurm'
        ? redo.length > 0 && redo.length < (first.shards?.length ?? 0)
          ? `bash ${run}/slurm/resubmit.sh ${first.name} ${redo.join(' ')}, then bash ${run}/slurm/submit.sh`
          : `bash ${run}/slurm/submit.sh`
        : `bash ${run}/kubernetes/apply.sh`;
    lines.push(`next: ${first.name}; to resume: ${how} (finished stages and intact shards are reused)`);
  }
  return lines.join('\n') + '\n';
}
