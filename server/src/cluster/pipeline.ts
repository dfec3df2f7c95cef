/**
 * The whole pipeline as stages a scheduler runs in order, independent of the scheduler: covariance shards →
 * merge → eigendecomposition → Λ (+ index) shards → merge → scoring shards → merge → analyze + report.
 * Every stage is safe to run again (docs/CLUSTER.md): fit --stage reuses a complete stage and an intact
 * shard, merge --stage does nothing once merged, and every file is written through a temp file and rename.
 */
import { join } from 'node:path';

/** Written where a per-shard path takes the shard's number; each engine substitutes its own variable. */
export const SHARD_INDEX = '{shard}';

export interface PipelineStage {
  name: string;
  /** Array stages run one task per shard with --shard auto; the others run once. */
  sharded: boolean;
  /** influence-lens invocations in order (one for most stages; analyze runs analyze then report). */
  commands: string[][];
  /** The stage this one waits for (the one before it). */
  after?: string;
}

export interface PipelineInputs {
  /** The run folder as the jobs see it (absolute). */
  run: string;
  model: string;
  tokenizer?: string;
  corpus: string;
  queries: string;
  shards: number;
  /** --text-field/--id-field/--source-field, for every command that reads the corpus. */
  corpusFields: string[];
  /** Options every model-running command takes (--max-len, --batch-size, --backend, --workers). */
  common: string[];
  /** fit options (--max-docs, --seed, --strategy is ekfac). */
  fit: string[];
  /** score options (--damping, --rank, …). */
  score: string[];
  /** Also build the gradient index in the Λ pass. */
  index: boolean;
}

/** Where a run folder keeps what it computes. */
export const runPaths = (run: string) => ({
  factors: join(run, 'factors'),
  indexPart: (i: number | string) => join(run, 'index.parts', String(i)),
  index: join(run, 'index'),
  scorePart: (i: number | string) => join(run, 'scores.parts', String(i)),
  results: join(run, 'results'),
  logs: join(run, 'logs'),
});

export function pipeline(p: PipelineInputs): PipelineStage[] {
  const at = runPaths(p.run);
  const model = ['--model', p.model, ...(p.tokenizer ? ['--tokenizer', p.tokenizer] : [])];
  const corpus = ['--corpus', p.corpus, ...p.corpusFields];
  const inputs = [...model, ...corpus, ...p.common];
  const shard = ['--shard', 'auto', '--shards', String(p.shards)];
  const fit = (stage: string, more: string[] = []) => ['fit', ...inputs, ...p.fit, '--out', at.factors, '--stage', stage, ...more];
  const parts = (path: (i: number) => string, flag: string) => Array.from({ length: p.shards }, (_, i) => [flag, path(i)]).flat();
  const stages: PipelineStage[] = [
    { name: 'covariance', sharded: true, commands: [fit('covariance', shard)] },
    { name: 'merge-covariance', sharded: false, commands: [['merge', '--factors', at.factors, '--stage', 'covariance']] },
    { name: 'eigen', sharded: false, commands: [fit('eigen')] },
    { name: 'lambda', sharded: true, commands: [fit('lambda', [...shard, ...(p.index ? ['--index', at.indexPart(SHARD_INDEX)] : [])])] },
    {
      name: 'merge-lambda',
      sharded: false,
      commands: [
        ['merge', '--factors', at.factors, '--stage', 'lambda'],
        ...(p.index ? [['merge', ...parts(at.indexPart, '--index'), '--out', at.index]] : []),
      ],
    },
    {
      name: 'score',
      sharded: true,
      commands: [['score', ...inputs, '--factors', at.factors, '--queries', p.queries, ...p.score, '--top', '0', '--out', at.scorePart(SHARD_INDEX), ...shard]],
    },
    { name: 'merge-scores', sharded: false, commands: [['merge', ...parts(at.scorePart, '--results'), '--out', at.results]] },
    {
      name: 'analyze',
      sharded: false,
      commands: [
        ['analyze', '--results', at.results, ...corpus],
        ['report', '--results', at.results, ...corpus],
      ],
    },
  ];
  return stages.map((s, i) => (i === 0 ? s : { ...s, after: stages[i - 1].name }));
}
