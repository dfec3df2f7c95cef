/**
 * The `influence-lens` command line: a thin adapter over the engine. Results go to stdout and files,
 * progress and diagnostics to stderr; Ctrl-C aborts the running command and keeps what was completed.
 */
import { BACKEND_CHOICES, isInfluenceLensError, releaseAllOutputs, safeForTerminal } from './engine/api';
import { UsageError } from './cli/args';
import { generate, loss } from './cli/basic';
import { fit, merge } from './cli/fit';
import { score } from './cli/score';
import { index } from './cli/indexCommand';
import { analyze } from './cli/analyze';
import { report } from './cli/report';
import { evaluate } from './cli/eval';
import { cluster, status } from './cli/cluster';

export const USAGE = `usage: influence-lens <command> [options]

commands:
  generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-tokens N]
      the model's greedy (temperature 0) continuation of the prompt (default: from BOS)
  loss --model PATH [--tokenizer PATH] --text TEXT
      {"tokens", "sumNats", "meanNats"}: next-token loss of the text after BOS
  fit --model PATH --corpus C --out FACTORS [--strategy ekfac|kfac|diagonal|identity]
      [--fisher sampled|empirical] [--max-docs N] [--max-len L] [--seed S] [--shard i/n|auto] [--shards N]
      [--stage covariance|eigen|lambda] [--modules a,b] [--index INDEX [--sketch KIND:SIZE] [--sketch-seed S]]
      EK-FAC factors in three cached stages (covariance, eigendecomposition, eigenvalue correction);
      --index also writes the gradient index of every document during the eigenvalue-correction pass
  merge --factors FACTORS [--stage S] add the shards of the pending fit stage (--stage: nothing to do once
                                     that stage is merged, so a retried merge job succeeds)
  merge --results R --results R … --out R
                                     join results of corpus shards (score --shard i/n)
  merge --index I --index I … --out I
                                     join indexes of corpus shards (index --shard i/n)
  score --model PATH --corpus C --factors FACTORS --queries Q.jsonl --out RESULTS [--damping X]
      [--rank R] [--top K] [--self] [--max-len L] [--max-new-tokens N] [--full-completions] [--shard i/n|auto]
      influence of every document on every query: RESULTS/results.json + scores.f32; a query without a
      completion gets the model's greedy answer (its first line of content; for a reasoning query, through
      "The answer is …"), or with --full-completions its whole continuation
  analyze --results RESULTS [--top K …] [--corpus C] [--permutations N] [--seed S]
      the paper's analyses of a results folder: RESULTS/analysis.json and a headline table
      (query correlations, power law, influence per nat, answers in the top k, source multipliers)
  report --results RESULTS [--out FILE|-] [--cards N] [--corpus C]
      the panel's charts and tables in one self-contained HTML file (default RESULTS/report.html; - for
      stdout; needs RESULTS/analysis.json): the batch analyses, every query's view, the top and bottom N
      documents (default 30) with snippets from the corpus
  index --model PATH --corpus C --factors FACTORS --out INDEX [--sketch KIND:SIZE] [--sketch-seed S]
      [--damping X] [--max-len L] [--shard i/n]
      the gradient index for instant queries: a fixed-size sketch of each document's gradient in the
      EK-FAC eigenbasis; KIND:SIZE is eigen:KSxKA (default eigen:16x24, the top eigen-subspace of each
      module), kron:KSxKA (seeded Kronecker projection), count:DIMS (count-sketch of all modules), or
      blocks:50%|K (each document's heaviest blocks of 8 entries per module; --damping weighs them)
  score … --index INDEX [--rerank N] [--candidates N]
      score from the index instead of a corpus pass, ranked as hovers rank: each query's N candidates
      (default 1350: the sketch's best and worst, BM25's best) rescored from the index's rescoring tier;
      --rerank scores the tier's top and bottom N exactly; --candidates 0: the sketch's estimates alone
  cluster plan --engine slurm|kubernetes --out RUN --shards N --model PATH --corpus C --queries Q
      [--max-len L] [--max-docs N] [--modules a,b] [--index] [--gpus-per-shard G] [--cpus C] [--memory 16G]
      [--parallel P] [--partition P] [--image IMAGE --volume CLAIM:/mount] [--retries R] [--tokens-per-second T]
      a run folder for the whole pipeline on a cluster (docs/CLUSTER.md): Slurm batch scripts chained with
      afterok and submit.sh, or Kubernetes Indexed Jobs and apply.sh; requests estimated in RUN/README.md
  status RUN [--json]
      every stage and shard of a planned run: done, missing or corrupt, and how to resume
  eval facts --model PATH --corpus C --queries Q --labels L --work DIR [--methods a,b] [--max-docs N]
      [--max-len L] [--rerank N] [--full-completions]
      fact tracing against ground-truth labels (MRR, recall@k; procedure multipliers for reasoning
      queries) for EK-FAC (sampled, empirical), K-FAC, diagonal, identity, cosine, the index (± rerank),
      BM25 and random, in one table (docs/EVALUATION.md)
  eval lds --corpus C --tokenizer DIR --queries Q --out DIR [--models 50] [--fraction 0.5] [--seed S]
      [--epochs E] [--methods a,b]
      linear datamodeling score: trains models on random subsets (cached), Spearman of summed scores vs
      measured query losses, mean ± SE per method

PATH is a Hugging Face folder (config.json, model.safetensors, tokenizer.json), a model in the local
Hugging Face cache by its id (EleutherAI/pythia-160m, or …@revision: $HF_HOME/hub/models--…/snapshots/;
nothing is downloaded), or a llama2.c .bin checkpoint (then --tokenizer is its tokenizer .bin; default
tokenizer.bin beside it).
C is a JSONL file ({"text", "id"?, "source"?} per line; --text-field/--id-field/--source-field rename
them, dotted paths such as meta.source reach into nested records), gzip or zstd JSONL (.jsonl.gz,
.jsonl.zst), a Parquet file (Hugging Face datasets shards: the same fields as columns), a folder of such
shards (data/train-00000-of-00042.parquet, …), a folder of .txt/.md files (source = subfolder), or a .txt
file of <|endoftext|>-separated documents.

common options:
  --backend ${BACKEND_CHOICES.map((b) => b.name).join('|')}   (default auto; the choice is printed on stderr)
  --workers N      compute threads for wasm/cpu (default: one per core)
  --batch-size N   documents per batch (default 8, on a GPU what it holds; results do not depend on it)
  --verbose        also the backend's adapter, why it was chosen, and the batch size
  --quiet          no progress or diagnostics on stderr

--shard i/n takes documents i, i+n, i+2n, …; --shard auto (or no --shard under a scheduler) takes i from
JOB_COMPLETION_INDEX, SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN or SLURM_PROCID, and n from
SLURM_ARRAY_TASK_COUNT, SLURM_NTASKS or --shards N (docs/CLUSTER.md).
`;

const COMMANDS: Record<string, (argv: string[], signal: AbortSignal) => Promise<void>> = {
  generate,
  loss,
  fit,
  merge,
  score,
  index,
  analyze,
  report,
  eval: evaluate,
  cluster,
  status,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`influence-lens: unknown command "${safeForTerminal(command)}"\n\n${USAGE}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const abort = new AbortController();
  const onSigint = () => {
    if (abort.signal.aborted) process.exit(130); // a second Ctrl-C does not wait
    process.stderr.write('\ninfluence-lens: stopping (Ctrl-C again to force)…\n');
    abort.abort();
  };
  process.on('SIGINT', onSigint);
  let failed = true;
  try {
    await run(rest, abort.signal);
    failed = false;
    return 0;
  } catch (e) {
    if (abort.signal.aborted) {
      process.stderr.write(`influence-lens ${command}: cancelled; completed stages and files are kept\n`);
      return 130;
    }
    process.stderr.write(`influence-lens ${command}: ${describeError(e)}\n`);
    if (e instanceof UsageError) process.stderr.write(`\n${USAGE}`);
    // An option value the engine refused (a length over the context, …) is a usage error too.
    return e instanceof UsageError || isInfluenceLensError(e, 'USAGE') ? 2 : 1;
  } finally {
    process.off('SIGINT', onSigint);
    // Output locks go; a refused or failed run leaves no empty --out folder it created.
    releaseAllOutputs({ failed });
  }
}

/** The error as one safe message: file names and quoted input can hold control characters. */
function describeError(e: unknown): string {
  return safeForTerminal(errorText(e), { multiline: true });
}

function errorText(e: unknown): string {
  if (isInfluenceLensError(e)) {
    const where = e.file ? `${e.file}${e.line ? `:${e.line}` : ''}` : '';
    return where && !e.message.includes(where) ? `${e.message} (${where})` : e.message;
  }
  if (e instanceof Error) return process.env.INFLUENCE_LENS_DEBUG ? String(e.stack) : e.message;
  return String(e);
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`influence-lens: ${describeError(e)}\n`);
      process.exit(1);
    },
  );
}
