/**
 * `eval`: how good are the attributions (docs/EVALUATION.md)?
 *   eval facts — fact tracing against ground-truth labels, every method in one table
 *   eval lds   — the linear datamodeling score, by retraining small models on random subsets
 */
import {
  checkMaxLen,
  DEFAULT_LDS_TRAINING,
  factsMarkdown,
  ldsMarkdown,
  type LdsTraining,
  type Method,
  METHODS,
  parseBackendRequest,
  parseMethods,
  readQueries,
  runFactTracing,
  runLds,
} from '../engine/api';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, optStr, parse, str, UsageError, type Values } from './args';
import { corpusOptions, withModel } from './context';
import { ProgressBar } from './progress';

export async function evaluate(argv: string[], signal: AbortSignal): Promise<void> {
  const [what, ...rest] = argv;
  if (what === 'facts') return facts(rest, signal);
  if (what === 'lds') return lds(rest, signal);
  throw new UsageError(`eval needs "facts" or "lds", got ${what === undefined ? 'nothing' : `"${what}"`}`);
}

function methods(v: Values, allowed: readonly Method[]): Method[] {
  try {
    return parseMethods(optStr(v, 'methods'), allowed);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

async function facts(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    queries: { type: 'string' },
    labels: { type: 'string' },
    work: { type: 'string' },
    methods: { type: 'string' },
    'max-len': { type: 'string' },
    'max-docs': { type: 'string' },
    'max-new-tokens': { type: 'string', default: '64' },
    rerank: { type: 'string', default: '40' },
    'full-completions': { type: 'boolean', default: false },
  });
  const request = {
    corpus: corpusOptions(v),
    queries: await readQueries(str(v, 'queries')),
    labels: str(v, 'labels'),
    work: str(v, 'work'),
    methods: methods(v, METHODS),
    maxDocs: int(v, 'max-docs'),
    rerank: int(v, 'rerank', { min: 1 })!,
    maxNewTokens: int(v, 'max-new-tokens'),
    completion: v['full-completions'] === true ? ('full' as const) : ('firstLine' as const),
  };
  await withModel(v, signal, {}, async ({ run, hooks }) => {
    const maxLen = checkMaxLen(int(v, 'max-len', { min: 2 }) ?? Math.min(run.context, 512), run.context);
    const { report, path } = await runFactTracing(run, { ...request, maxLen }, hooks);
    process.stdout.write(factsMarkdown(report));
    hooks.log(`wrote ${path}`);
  });
}

async function lds(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    corpus: { type: 'string' },
    tokenizer: { type: 'string' },
    queries: { type: 'string' },
    out: { type: 'string' },
    methods: { type: 'string' },
    models: { type: 'string', default: '50' },
    fraction: { type: 'string', default: '0.5' },
    seed: { type: 'string', default: '0' },
    epochs: { type: 'string' },
    rerank: { type: 'string', default: '40' },
  });
  const fraction = num(v, 'fraction')!;
  if (!(fraction > 0 && fraction < 1)) throw new UsageError(`--fraction must be between 0 and 1, got ${fraction}`);
  const training: LdsTraining = { ...DEFAULT_LDS_TRAINING, epochs: int(v, 'epochs') ?? DEFAULT_LDS_TRAINING.epochs };
  const quiet = v.quiet === true;
  const progress = new ProgressBar(process.stderr, !quiet);
  const log = (line: string) => {
    if (quiet) return;
    progress.done();
    process.stderr.write(`influence-lens: ${line}\n`);
  };
  try {
    const report = await runLds(
      {
        corpus: str(v, 'corpus'),
        tokenizer: str(v, 'tokenizer'),
        queries: await readQueries(str(v, 'queries')),
        out: str(v, 'out'),
        models: int(v, 'models', { min: 2 })!,
        fraction,
        subsetSeed: int(v, 'seed', { min: 0 })!,
        training,
        methods: methods(
          v,
          METHODS.filter((m) => m !== 'bm25'),
        ),
        rerank: int(v, 'rerank', { min: 1 })!,
        backend: parseBackendRequest(optStr(v, 'backend')),
        workers: int(v, 'workers', { min: 0 }),
      },
      { signal, log, onProgress: (p) => progress.update(p) },
    );
    progress.done();
    process.stdout.write(ldsMarkdown(report));
    log(`wrote ${report.dir}/lds.json`);
  } finally {
    progress.done();
  }
}
