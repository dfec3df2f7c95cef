/**
 * `cluster plan`: a run folder with everything a scheduler needs for the whole pipeline — the stages
 * (plan.json, which `status` reads), the engine's scripts or manifests, and a README with the requests
 * and the arithmetic behind them. Nothing is submitted: the user runs submit.sh or apply.sh.
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CorpusOptions, readCorpus, writeTextAtomically } from '../engine/api';
import { CHARS_PER_TOKEN, estimate, type CorpusSize, type Estimate } from './estimate';
import { applyScript, jobManifest, type KubernetesOptions } from './kubernetes';
import { readModelShape } from './modelShape';
import { pipeline, runPaths, type PipelineInputs, type PipelineStage } from './pipeline';
import { resubmitScript, sbatchScript, submitScript, type SlurmOptions } from './slurm';

export const PLAN_FILE = 'plan.json';
export const PLAN_VERSION = 1;

export type Engine = 'slurm' | 'kubernetes';

export interface PlanRequest extends Omit<PipelineInputs, 'run'> {
  run: string;
  engine: Engine;
  corpusOptions: CorpusOptions;
  maxLen: number | undefined;
  batchSize: number;
  queriesCount: number;
  tokensPerSecond?: number;
  cpus: number;
  gpus: number;
  /** Memory per shard in MiB, overriding the estimate. */
  memoryMiB?: number;
  parallel?: number;
  cli: string[];
  partition?: string;
  kubernetes?: Omit<KubernetesOptions, 'shards' | 'parallel' | 'cpus' | 'gpus' | 'shardMemoryMiB' | 'mergeMemoryMiB' | 'cli' | 'sourceDateEpoch'>;
}

/** What plan.json records: enough for `status` to know every stage and shard, and for a reader to see the commands. */
export interface PlanFile {
  version: typeof PLAN_VERSION;
  engine: Engine;
  shards: number;
  run: string;
  index: boolean;
  stages: PipelineStage[];
  estimate: Estimate;
  corpus: CorpusSize;
}

async function corpusSize(o: CorpusOptions, maxLen: number, signal?: AbortSignal): Promise<CorpusSize> {
  let documents = 0;
  let tokens = 0;
  for await (const doc of readCorpus(o, undefined, signal)) {
    documents++;
    tokens += Math.min(maxLen, Math.ceil(doc.text.length / CHARS_PER_TOKEN) + 1);
  }
  return { documents, tokens };
}

export async function writePlan(r: PlanRequest, signal?: AbortSignal): Promise<PlanFile> {
  const shape = readModelShape(r.model);
  const maxLen = r.maxLen ?? Math.min(shape.context, 512);
  const size = await corpusSize(r.corpusOptions, maxLen, signal);
  const est = estimate(shape, size, { shards: r.shards, maxLen, batchSize: r.batchSize, queries: r.queriesCount, tokensPerSecond: r.tokensPerSecond });
  if (r.memoryMiB !== undefined) {
    est.lines.push(`memory per shard = ${r.memoryMiB} MiB (--memory, instead of the estimate ${est.shardMemoryMiB} MiB)`);
    est.shardMemoryMiB = r.memoryMiB;
  }
  const stages = pipeline(r);
  const at = runPaths(r.run);
  mkdirSync(at.logs, { recursive: true });
  const plan: PlanFile = { version: PLAN_VERSION, engine: r.engine, shards: r.shards, run: r.run, index: r.index, stages, estimate: est, corpus: size };
  const folder = join(r.run, r.engine);
  mkdirSync(folder, { recursive: true });
  const write = (name: string, text: string, executable = false) => {
    writeTextAtomically(join(folder, name), text);
    if (executable) chmodSync(join(folder, name), 0o755);
  };
  // One time for the whole run: a rerun shard records the same createdAt, so its files are byte-identical.
  const sourceDateEpoch = Math.floor(Date.now() / 1000);
  const sizes = {
    sourceDateEpoch,
    cpus: r.cpus,
    gpus: r.gpus,
    shardMemoryMiB: est.shardMemoryMiB,
    mergeMemoryMiB: est.mergeMemoryMiB,
    parallel: r.parallel,
    shards: r.shards,
    cli: r.cli,
  };
  if (r.engine === 'slurm') {
    const o: SlurmOptions = { ...sizes, run: r.run, shardMinutes: est.shardMinutes, singleMinutes: est.singleMinutes, partition: r.partition };
    for (const s of stages) write(`${s.name}.sbatch`, sbatchScript(s, o));
    write('submit.sh', submitScript(stages), true);
    write('resubmit.sh', resubmitScript(), true);
  } else {
    const o: KubernetesOptions = { ...sizes, ...r.kubernetes! };
    const files = stages.map((s, i) => `${String(i + 1).padStart(2, '0')}-${s.name}.json`);
    stages.forEach((s, i) => write(files[i], JSON.stringify(jobManifest(s, o), null, 2) + '\n'));
    write('apply.sh', applyScript(stages, o, files), true);
  }
  writeTextAtomically(join(r.run, 'README.md'), readme(plan, r));
  // plan.json last: a folder with it is a complete plan.
  writeTextAtomically(join(r.run, PLAN_FILE), JSON.stringify(plan, null, 2) + '\n');
  return plan;
}

function readme(p: PlanFile, r: PlanRequest): string {
  const start = p.engine === 'slurm' ? `bash ${join(p.run, 'slurm', 'submit.sh')}` : `bash ${join(p.run, 'kubernetes', 'apply.sh')}`;
  const resume =
    p.engine === 'slurm'
      ? `Rerun chosen shards with \`bash slurm/resubmit.sh STAGE i j …\`, or simply run submit.sh again: finished stages and intact shards are reused.`
      : `Run apply.sh again: complete Jobs are kept, a failed one is deleted and applied anew, finished stages and intact shards are reused.`;
  return [
    `# Influence Lens run (${p.engine}, ${p.shards} shards)`,
    '',
    `Start: \`${start}\`. Progress: \`influence-lens status ${p.run}\` lists every stage and shard (done, missing, corrupt).`,
    resume,
    '',
    '## Stages',
    '',
    ...p.stages.map(
      (s) =>
        `- **${s.name}**${s.sharded ? ` (${p.shards} shards${r.parallel ? `, ${r.parallel} at a time` : ''})` : ''}: \`influence-lens ${s.commands.map((c) => c[0]).join(' && influence-lens ')}\``,
    ),
    '',
    '## Requests and how they were estimated',
    '',
    `Corpus: ${p.corpus.documents.toLocaleString('en')} documents, about ${p.corpus.tokens.toLocaleString('en')} tokens (${CHARS_PER_TOKEN} characters a token, cut to the maximum length).`,
    '',
    ...p.estimate.lines.map((l) => `- ${l}`),
    '',
    `Requested per shard: ${r.cpus} CPUs, ${r.gpus} GPUs, ${p.estimate.shardMemoryMiB} MiB${p.engine === 'slurm' ? `, ${p.estimate.shardMinutes} min` : ''}; per merge: ${p.estimate.mergeMemoryMiB} MiB${p.engine === 'slurm' ? `, ${p.estimate.singleMinutes} min` : ''}.`,
    '',
  ].join('\n');
}
