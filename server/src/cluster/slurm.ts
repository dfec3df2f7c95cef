/**
 * The pipeline as Slurm batch scripts: one per stage (sharded stages as job arrays, `%` throttled when
 * asked), and submit.sh, which submits them in order, each with --dependency=afterok on the one before,
 * and prints the job ids. A failed stage cancels the ones after it (--kill-on-invalid-dep) instead of
 * leaving them pending forever.
 */
import { join } from 'node:path';
import { SHARD_INDEX, runPaths, type PipelineStage } from './pipeline';

export interface SlurmOptions {
  run: string;
  shards: number;
  /** How a node starts the CLI, e.g. ["node", "/shared/influence-lens/bin/influence-lens.js"]. */
  cli: string[];
  cpus: number;
  gpus: number;
  shardMemoryMiB: number;
  mergeMemoryMiB: number;
  shardMinutes: number;
  singleMinutes: number;
  /** Array tasks at a time (%N), or undefined for as many as the cluster gives. */
  parallel?: number;
  partition?: string;
  /** The run's SOURCE_DATE_EPOCH: every task's artefacts record this time, so a rerun writes the same bytes. */
  sourceDateEpoch: number;
}

/** A word for bash: single-quoted unless plain. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** An argument with the shard's number in it: double-quoted around the task id. */
function shellArg(s: string): string {
  if (!s.includes(SHARD_INDEX)) return shellQuote(s);
  return (
    '"' +
    s
      .replace(/[\\"$`]/g, (c) => `\\${c}`)
      .split(SHARD_INDEX)
      .join('${SLURM_ARRAY_TASK_ID}') +
    '"'
  );
}

const time = (minutes: number) => `${Math.floor(minutes / 60)}:${String(minutes % 60).padStart(2, '0')}:00`;

export function sbatchScript(stage: PipelineStage, o: SlurmOptions): string {
  const logs = runPaths(o.run).logs;
  const head = [
    '#!/bin/bash',
    `#SBATCH --job-name=il-${stage.name}`,
    ...(o.partition ? [`#SBATCH --partition=${o.partition}`] : []),
    ...(stage.sharded ? [`#SBATCH --array=0-${o.shards - 1}${o.parallel ? `%${o.parallel}` : ''}`] : []),
    `#SBATCH --cpus-per-task=${o.cpus}`,
    `#SBATCH --mem=${stage.sharded ? o.shardMemoryMiB : o.mergeMemoryMiB}M`,
    `#SBATCH --time=${time(stage.sharded ? o.shardMinutes : o.singleMinutes)}`,
    ...(o.gpus > 0 && stage.sharded ? [`#SBATCH --gres=gpu:${o.gpus}`] : []),
    // A preempted or failed node's task may be requeued: every stage is safe to run again.
    '#SBATCH --requeue',
    '#SBATCH --open-mode=append',
    `#SBATCH --output=${join(logs, stage.sharded ? `${stage.name}-%A_%a.out` : `${stage.name}-%j.out`)}`,
    'set -euo pipefail',
  ];
  const body: string[] = [`export SOURCE_DATE_EPOCH=${o.sourceDateEpoch}`];
  if (stage.sharded) {
    body.push(
      '# The shard comes from SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT (--shard auto).',
      '# resubmit.sh runs chosen shards as --array=i,j,…: their task ids are then the shard numbers themselves.',
      'SHARD=auto',
      `if [ -n "\${INFLUENCE_LENS_RESUBMIT:-}" ]; then SHARD="\${SLURM_ARRAY_TASK_ID}/${o.shards}"; fi`,
    );
  }
  for (const argv of stage.commands) {
    const words = argv.map((a, i) => (stage.sharded && a === 'auto' && argv[i - 1] === '--shard' ? '"$SHARD"' : shellArg(a)));
    body.push([...o.cli.map(shellQuote), ...words].join(' '));
  }
  return [...head, ...body, ''].join('\n');
}

export function submitScript(stages: PipelineStage[]): string {
  const lines = [
    '#!/bin/bash',
    '# Submits every stage, each after the one before succeeded, and prints "stage job-id" per line.',
    '# To resume after a failure: run it again; finished stages and intact shards are reused.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'previous=""',
  ];
  for (const s of stages) {
    lines.push(
      `id=$(sbatch --parsable --kill-on-invalid-dep=yes \${previous:+--dependency=afterok:$previous} ${s.name}.sbatch)`,
      'id="${id%%;*}"',
      `echo "${s.name} $id"`,
      'previous="$id"',
    );
  }
  return [...lines, ''].join('\n');
}

/** resubmit.sh STAGE i [j …]: reruns chosen shards of a stage (the ones `influence-lens status` names). */
export function resubmitScript(): string {
  return [
    '#!/bin/bash',
    '# Usage: resubmit.sh STAGE SHARD [SHARD …] — reruns those shards of a sharded stage as an array whose',
    '# task ids are the shard numbers; then run submit.sh again for the stages after it.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'stage="$1"; shift',
    'ids=$(IFS=,; echo "$*")',
    'sbatch --parsable --array="$ids" --export=ALL,INFLUENCE_LENS_RESUBMIT=1 "$stage.sbatch"',
    '',
  ].join('\n');
}
