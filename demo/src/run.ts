/**
 * `npm run demo`: the whole method on the embedded default. Generates the demo corpus (seconds), fits
 * EK-FAC factors for the committed demo model on its first 1,000 documents and writes the gradient index of
 * every document in the same pass (cached: later runs reuse both), scores the demo query set
 * with the model's own greedy answers (the completion rule the editor, `score` and `eval` share: the first
 * line of content; for a reasoning query, through "The answer is …"), runs the paper's analyses, and prints
 * the headline table and where everything is. Each step is the CLI's own command, so what it prints is what a user would get.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { main as cli } from '../../server/src/cli';
import type { AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { findingsMarkdown } from '../../server/src/engine/analysis/findingsTable';
import { headlineTable } from '../../server/src/engine/analysis/headline';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from './corpus/generate';
import { conditions, updateDocSection } from './doc';

const ROOT = resolve(__dirname, '..', '..');

/**
 * Documents the factors are fitted on: the first quarter of the corpus, as the paper fits its factors on a
 * sample of the pretraining data (docs/INDEX.md: on the demo set, exact scores from factors fitted on a
 * quarter rank the documents as those from all of them, Spearman 0.98 mean). The index, written in the
 * same pass, covers every document.
 */
export const DEMO_FIT_DOCUMENTS = 1000;

export interface DemoPaths {
  model: string;
  corpus: string;
  queries: string;
  factors: string;
  /** The gradient index (docs/INDEX.md), written during the fit: what the language server answers hovers from. */
  index: string;
  results: string;
}

export const DEMO_PATHS: DemoPaths = {
  model: join(ROOT, 'demo', 'model'),
  corpus: join(ROOT, 'demo', 'data', 'corpus.jsonl'),
  queries: join(ROOT, 'demo', 'queries.jsonl'),
  factors: join(ROOT, 'demo', 'out', 'factors'),
  index: join(ROOT, 'demo', 'out', 'index'),
  results: join(ROOT, 'demo', 'out', 'results'),
};

export async function runDemo(p: DemoPaths, extra: { quiet?: boolean; workers?: number } = {}): Promise<void> {
  const common = [...(extra.quiet ? ['--quiet'] : []), ...(extra.workers !== undefined ? ['--workers', String(extra.workers)] : [])];
  const step = async (title: string, argv: string[]) => {
    if (!extra.quiet) process.stderr.write(`\n== ${title}\n`);
    const code = await cli([...argv, ...common]);
    if (code !== 0) throw new Error(`${title} failed (exit code ${code})`);
  };
  if (!existsSync(p.corpus)) {
    mkdirSync(join(p.corpus, '..'), { recursive: true });
    writeFileSync(p.corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
  }
  await step('fit EK-FAC factors and write the gradient index (cached after the first run)', [
    'fit',
    '--model',
    p.model,
    '--corpus',
    p.corpus,
    '--out',
    p.factors,
    '--max-len',
    '256',
    '--max-docs',
    String(DEMO_FIT_DOCUMENTS),
    '--index',
    p.index,
  ]);
  await step('score the demo queries against every document', demoScoreArgs(p));
  await step("the paper's analyses", ['analyze', '--results', p.results]);
  await step("the HTML report (the panel's charts in one file)", ['report', '--results', p.results, '--out', join(p.results, 'report.html')]);
}

/**
 * The demo's `score` command: every query's completion is the model's greedy answer under the default
 * completion rule (score/queries.ts CompletionRule), as a hover and `eval facts` make it.
 */
export function demoScoreArgs(p: Pick<DemoPaths, 'model' | 'corpus' | 'factors' | 'queries' | 'results'>): string[] {
  return [
    'score',
    '--model',
    p.model,
    '--corpus',
    p.corpus,
    '--factors',
    p.factors,
    '--queries',
    p.queries,
    '--out',
    p.results,
    '--top',
    '0',
    '--max-new-tokens',
    '64',
  ];
}

/**
 * `npm run demo -- --doc`: the demo's analyses into docs/EVALUATION.md (the `demo` section), with the
 * machine, its load and the demo's wall time, end to end.
 */
function writeDoc(p: DemoPaths, started: number, load0: number[]): void {
  const report = JSON.parse(readFileSync(join(p.results, 'analysis.json'), 'utf8')) as AnalysisReport;
  updateDocSection(
    'demo',
    [
      `Command: \`npm run demo -- --doc\` (the build, then \`fit\` (cached: factors and index reused when present), \`score\`, \`analyze\` and \`report\` on the demo, ` +
        `${report.results.queries} queries × ${report.results.documents} documents; completions: the model's greedy answers, \`score\`'s default rule). ` +
        "The wall time counts from the demo's start, after `npm run build`.",
      '',
      `Conditions: ${conditions(started, load0)}.`,
      '',
      '```',
      headlineTable(report).trimEnd(),
      '```',
      '',
      findingsMarkdown(report.findings),
    ].join('\n'),
  );
}

async function main() {
  const started = Date.now();
  const load0 = loadavg();
  await runDemo(DEMO_PATHS);
  if (process.argv.includes('--doc')) writeDoc(DEMO_PATHS, started, load0);
  const rel = (x: string) => relative(process.cwd(), x) || '.';
  process.stderr.write(
    [
      '',
      `demo finished in ${((Date.now() - started) / 1000).toFixed(0)} s`,
      `  model      ${rel(DEMO_PATHS.model)}  (trained by npm run demo:train; training.json, eval.json)`,
      `  corpus     ${rel(DEMO_PATHS.corpus)}`,
      `  queries    ${rel(DEMO_PATHS.queries)}`,
      `  factors    ${rel(DEMO_PATHS.factors)}`,
      `  index      ${rel(DEMO_PATHS.index)}  (score --index, or the language server's hovers)`,
      `  results    ${rel(DEMO_PATHS.results)}  (results.json, scores.f32, analysis.json)`,
      `  report     ${rel(join(DEMO_PATHS.results, 'report.html'))}  (open it in any browser)`,
      `next: npx influence-lens score --help, or open the folder in VS Code with the extension`,
      '',
    ].join('\n'),
  );
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`demo failed: ${e instanceof Error ? e.message : e}\n`);
    process.exit(1);
  });
}
