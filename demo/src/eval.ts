/**
 * `npm run eval:facts` / `npm run eval:lds`: the evaluations of docs/EVALUATION.md on the demo, through the
 * CLI's own `eval` command, and the doc's tables regenerated from what they wrote (between the
 * `<!-- BEGIN x -->` / `<!-- END x -->` markers), with the command, the machine and its load.
 *
 *   node --import tsx demo/src/eval.ts facts [extra `eval facts` options, e.g. --max-docs 1000]
 *   node --import tsx demo/src/eval.ts lds   [extra `eval lds` options, e.g. --models 50]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { main as cli } from '../../server/src/cli';
import type { FactsRun } from '../../server/src/engine/eval/factsRun';
import type { LdsReport } from '../../server/src/engine/eval/lds';
import { factsMarkdown, ldsMarkdown } from '../../server/src/engine/eval/report';
import type { AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { findingsMarkdown } from '../../server/src/engine/analysis/findingsTable';
import { DEFAULT_SEED, DEFAULT_SIZE } from './corpus/generate';
import { labelsPathFor, writeLabelledCorpus } from './corpus/main';
import { conditions, updateDocSection } from './doc';
import { stepByStep, type Problem } from './corpus/problems';
import { buildQueries } from './queries';
import { DEMO_PATHS } from './run';

const ROOT = resolve(__dirname, '..', '..');
export const EVAL_OUT = join(ROOT, 'demo', 'out', 'eval');
/** The LDS corpus: the demo generator's first 1,000 documents' worth (same seed, size 1000). */
export const LDS_SIZE = 1000;
const LDS_DATA = join(ROOT, 'demo', 'data', 'lds');

/** Each demo query with the completion an LDS measures: the correct answer (worked solution for reasoning). */
export function referenceQueriesJsonl(): string {
  return (
    buildQueries()
      .map((q) => {
        const completion = q.kind === 'reasoning' ? `\n\n${stepByStep(q.problem as Problem)}` : q.task === 'copy' ? q.answer : ` ${q.answer}`;
        return JSON.stringify({ id: q.id, prompt: q.prompt, completion, kind: q.kind, task: q.task, answer: q.answer });
      })
      .join('\n') + '\n'
  );
}

async function facts(extra: string[]): Promise<void> {
  if (!existsSync(labelsPathFor(DEMO_PATHS.corpus))) writeLabelledCorpus(DEMO_PATHS.corpus, DEFAULT_SEED, DEFAULT_SIZE);
  const work = join(EVAL_OUT, 'facts');
  const argv = [
    'eval',
    'facts',
    '--model',
    DEMO_PATHS.model,
    '--corpus',
    DEMO_PATHS.corpus,
    '--queries',
    DEMO_PATHS.queries,
    '--labels',
    labelsPathFor(DEMO_PATHS.corpus),
    '--work',
    work,
    '--max-len',
    '256',
    ...extra,
  ];
  const started = Date.now();
  const load0 = loadavg();
  if ((await cli(argv)) !== 0) throw new Error('eval facts failed');
  const report = JSON.parse(readFileSync(join(work, 'facts.json'), 'utf8')) as FactsRun['report'];
  const command = `npm run eval:facts${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
  if (report.resultsDir) await findings(report.resultsDir, report.corpus, command);
  updateDocSection(
    'facts',
    [
      `Command: \`${command}\` (runs \`influence-lens ${argv.map((a) => (a.startsWith(ROOT) ? relative(ROOT, a) : a)).join(' ')}\`).`,
      '',
      `Conditions: ${conditions(started, load0)}; backend ${report.backend} × ${report.threads}. Seconds: per method when computed (a shared corpus pass is split evenly; "cached": read from an earlier run).`,
      '',
      factsMarkdown(report),
    ].join('\n'),
  );
}

/** The paper's findings on the EK-FAC (sampled) results of the fact-tracing run: `influence-lens analyze`. */
async function findings(results: string, corpus: string, command: string): Promise<void> {
  const started = Date.now();
  const load0 = loadavg();
  const argv = ['analyze', '--results', results, '--corpus', corpus];
  if ((await cli(argv)) !== 0) throw new Error('analyze failed');
  const report = JSON.parse(readFileSync(join(results, 'analysis.json'), 'utf8')) as AnalysisReport;
  const rel = (p: string) => (p.startsWith(ROOT) ? relative(ROOT, p) : p);
  updateDocSection(
    'findings',
    [
      `Computed by \`${command}\` on its EK-FAC (sampled Fisher) scores: \`influence-lens analyze --results ${rel(results)} --corpus ${rel(corpus)}\` ` +
        `(${report.results.queries} queries × ${report.results.documents} documents). \`npm run demo -- --doc\` writes the same section for the full demo run below.`,
      '',
      `Conditions: ${conditions(started, load0)}.`,
      '',
      findingsMarkdown(report.findings),
    ].join('\n'),
  );
}

async function lds(extra: string[]): Promise<void> {
  mkdirSync(LDS_DATA, { recursive: true });
  const corpus = join(LDS_DATA, 'corpus.jsonl');
  if (!existsSync(corpus)) writeLabelledCorpus(corpus, DEFAULT_SEED, LDS_SIZE);
  const queries = join(LDS_DATA, 'queries.jsonl');
  writeFileSync(queries, referenceQueriesJsonl());
  const out = join(EVAL_OUT, 'lds');
  const argv = ['eval', 'lds', '--corpus', corpus, '--tokenizer', DEMO_PATHS.model, '--queries', queries, '--out', out, ...extra];
  const started = Date.now();
  const load0 = loadavg();
  if ((await cli(argv)) !== 0) throw new Error('eval lds failed');
  const setups = readFileSync(join(out, 'latest'), 'utf8').trim();
  const report = JSON.parse(readFileSync(join(setups, 'lds.json'), 'utf8')) as LdsReport;
  const command = `npm run eval:lds${extra.length ? ` -- ${extra.join(' ')}` : ''}`;
  const reduced = report.models < 50 ? `**Reduced run: ${report.models} models instead of 50** (the full run is \`npm run eval:lds\`). ` : '';
  updateDocSection('lds', [`${reduced}Command: \`${command}\`.`, '', `Conditions: ${conditions(started, load0)}.`, '', ldsMarkdown(report)].join('\n'));
}

if (require.main === module) {
  const [what, ...extra] = process.argv.slice(2);
  const job = what === 'facts' ? facts(extra) : what === 'lds' ? lds(extra) : Promise.reject(new Error('usage: demo/src/eval.ts facts|lds [options]'));
  job.catch((e) => {
    process.stderr.write(`eval: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  });
}
