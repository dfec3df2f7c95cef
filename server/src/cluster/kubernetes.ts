/**
 * The pipeline as Kubernetes Jobs (batch/v1, Kubernetes ≥ 1.29 for backoffLimitPerIndex): an Indexed Job per
 * sharded stage (each pod's JOB_COMPLETION_INDEX is its shard; the count is passed as --shards, as
 * Kubernetes gives the pod none), a plain Job per merge, every pod on one ReadWriteMany volume; and
 * apply.sh, which applies them in order and waits for each (kubectl wait --for=condition=complete).
 * Manifests are JSON, which kubectl reads as it reads YAML.
 */
import { SHARD_INDEX, type PipelineStage } from './pipeline';

export interface KubernetesOptions {
  /** Prefix of the Job names (DNS-1123: lower case, digits, '-'). */
  name: string;
  image: string;
  /** The ReadWriteMany PersistentVolumeClaim that holds model, corpus, queries and the run folder, and where pods mount it. */
  claim: string;
  mountPath: string;
  shards: number;
  parallel?: number;
  cpus: number;
  gpus: number;
  shardMemoryMiB: number;
  mergeMemoryMiB: number;
  /** Retries of one shard's pod before its index counts as failed. */
  retriesPerShard: number;
  /** The CLI inside the image (the Dockerfile's). */
  cli: string[];
  /** The run's SOURCE_DATE_EPOCH: every pod's artefacts record this time, so a retried pod writes the same bytes. */
  sourceDateEpoch: number;
}

/** The env variable the args name for the shard's number: the pod's completion index, through the downward API. */
export const SHARD_ENV = 'SHARD_INDEX';
export const COMPLETION_INDEX_ANNOTATION = 'batch.kubernetes.io/job-completion-index';

export type Manifest = Record<string, unknown> & { metadata: { name: string; labels?: Record<string, string> } };

export function jobName(o: KubernetesOptions, stage: PipelineStage): string {
  return `${o.name}-${stage.name}`;
}

export function jobManifest(stage: PipelineStage, o: KubernetesOptions): Manifest {
  const labels = { 'app.kubernetes.io/name': 'influence-lens', 'influence-lens/run': o.name, 'influence-lens/stage': stage.name };
  const memory = `${stage.sharded ? o.shardMemoryMiB : o.mergeMemoryMiB}Mi`;
  const gpu = o.gpus > 0 && stage.sharded ? { 'nvidia.com/gpu': String(o.gpus) } : {};
  // One container per command would run them at once: a stage of two commands runs them in order, via sh.
  const args = stage.commands.map((argv) => [...o.cli, ...argv].map((a) => a.split(SHARD_INDEX).join(`$(${SHARD_ENV})`)));
  const command =
    args.length === 1
      ? { command: args[0].slice(0, o.cli.length), args: args[0].slice(o.cli.length) }
      : { command: ['sh', '-c', args.map((a) => a.map(shWord).join(' ')).join(' && ')] };
  const container = {
    name: 'influence-lens',
    image: o.image,
    ...command,
    env: [
      ...(stage.sharded ? [{ name: SHARD_ENV, valueFrom: { fieldRef: { fieldPath: `metadata.annotations['${COMPLETION_INDEX_ANNOTATION}']` } } }] : []),
      { name: 'SOURCE_DATE_EPOCH', value: String(o.sourceDateEpoch) },
    ],
    resources: { requests: { cpu: String(o.cpus), memory, ...gpu }, limits: { memory, ...gpu } },
    volumeMounts: [{ name: 'data', mountPath: o.mountPath }],
  };
  const pod = {
    metadata: { labels },
    spec: {
      restartPolicy: 'Never',
      containers: [container],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: o.claim } }],
    },
  };
  const spec = stage.sharded
    ? {
        completionMode: 'Indexed',
        completions: o.shards,
        parallelism: Math.min(o.parallel ?? o.shards, o.shards),
        // A retried pod keeps its index, so it reruns its own shard; one shard's failures do not use up another's retries.
        backoffLimitPerIndex: o.retriesPerShard,
        maxFailedIndexes: 0,
        // A shard's next pod starts only once the last one has ended: two attempts never write one part at once.
        podReplacementPolicy: 'Failed',
        template: pod,
      }
    : { completions: 1, parallelism: 1, backoffLimit: o.retriesPerShard, template: pod };
  return { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: jobName(o, stage), labels }, spec };
}

/** A word for sh -c (Kubernetes expands $(VAR) before sh sees it). */
function shWord(s: string): string {
  return /^[\w@%+=:,./$()-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function applyScript(stages: PipelineStage[], o: KubernetesOptions, files: string[]): string {
  const lines = [
    '#!/bin/bash',
    '# Applies the Jobs in order, each once the one before is complete. A failed Job stops the script; run it',
    '# again after fixing the cause: complete Jobs are kept, a failed one is deleted and applied anew, and',
    '# finished stages and intact shards are reused.',
    'set -euo pipefail',
    'cd "$(dirname "$0")"',
    'status() { kubectl get "job/$1" -o jsonpath="{.status.conditions[?(@.type==\\"$2\\")].status}" 2>/dev/null || true; }',
    'run_job() {',
    '  if [ "$(status "$2" Failed)" = True ]; then kubectl delete "job/$2" --wait=true; fi',
    '  kubectl apply -f "$1"',
    '  # Complete or Failed, whichever comes first.',
    '  kubectl wait --for=condition=complete --timeout=-1s "job/$2" >/dev/null & local done_pid=$!',
    '  kubectl wait --for=condition=failed --timeout=-1s "job/$2" >/dev/null & local failed_pid=$!',
    '  wait -n "$done_pid" "$failed_pid" || true',
    '  kill "$done_pid" "$failed_pid" 2>/dev/null || true',
    '  if [ "$(status "$2" Complete)" != True ]; then echo "job $2 failed: kubectl describe job/$2; influence-lens status RUN_DIR" >&2; exit 1; fi',
    '  echo "$2 complete"',
    '}',
  ];
  stages.forEach((s, i) => lines.push(`run_job ${files[i]} ${jobName(o, s)}`));
  return [...lines, ''].join('\n');
}
