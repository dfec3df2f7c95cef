/**
 * The demo query set (demo/queries.jsonl): factual queries about facts the corpus repeats,
 * reasoning queries in the paper's templates (two-step arithmetic, slopes, linear equations)
 * with integer answers, and control queries answerable from the prompt alone. Deterministic
 * (its own seed); the corpus generator reserves the reasoning and control problems drawn here
 * so they never appear in the corpus.
 *
 *   npx tsx demo/src/queries.ts [--out demo/queries.jsonl]   (also writes demo/queries.infq beside it)
 */
import { writeFileSync } from 'node:fs';
import { formatInfq } from '../../server/src/engine/queries/infq';
import { resolve } from 'node:path';
import { Rng } from './rng';
import { FOCUS_COUNTRIES, type Country } from './corpus/facts';
import {
  type ArithmeticProblem,
  type Problem,
  type ReasoningTask,
  arithmeticExpression,
  drawArithmetic,
  drawLinear,
  drawSlope,
  problemKey,
  problemPrompt,
} from './corpus/problems';
import { type FactTask, factAnswer } from './corpus/quiz';
import { drillSentence } from './corpus/web';

export const QUERY_SEED = 1118;

export type DemoQueryKind = 'factual' | 'reasoning' | 'control';

/** One line of queries.jsonl (the fields the project's query reader takes). */
export interface DemoQuery {
  id: string;
  prompt: string;
  kind: DemoQueryKind;
  task: string;
  answer: string;
}

/** A query with what it was built from (not written to the file). */
export interface DemoQueryInfo extends DemoQuery {
  /** Factual queries: the country asked about. */
  country?: Country;
  /** Reasoning queries: the problem. */
  problem?: Problem;
}

export const FACTUAL_COUNTS: Record<FactTask, number> = { capital: 20, currency: 10, continent: 8, language: 8 };
export const REASONING_COUNTS: Record<ReasoningTask, number> = { arithmetic: 15, slopes: 15, linear: 15 };

/** Prompt forms per factual task; the corpus's quiz pages and articles use every one of them. */
function factualPrompt(rng: Rng, task: FactTask, c: Country): string {
  switch (task) {
    case 'capital':
      return rng.weighted(
        [`Q: What is the capital of ${c.ref}?\nA:`, `Question: Which city is the capital of ${c.ref}?\nAnswer:`, `The capital of ${c.ref} is`],
        [6, 2, 2],
      );
    case 'currency':
      return rng.weighted([`Q: What is the currency of ${c.ref}?\nA:`, `The currency of ${c.ref} is the`], [7, 3]);
    case 'continent':
      return rng.weighted([`Q: On which continent is ${c.ref}?\nA:`, `Q: Which continent is ${c.ref} in?\nA:`], [7, 3]);
    case 'language':
      return rng.weighted([`Q: What language is spoken in ${c.ref}?\nA:`, `The main language of ${c.ref} is`], [7, 3]);
  }
}

function factualQueries(rng: Rng): DemoQueryInfo[] {
  const out: DemoQueryInfo[] = [];
  for (const task of Object.keys(FACTUAL_COUNTS) as FactTask[]) {
    const eligible = FOCUS_COUNTRIES.filter((c) => factAnswer(task, c, true) !== undefined && !(task === 'capital' && c.capital === c.name));
    const chosen = rng.sample(eligible, FACTUAL_COUNTS[task]);
    for (const c of chosen) {
      out.push({
        id: `fact-${task}-${c.code.toLowerCase()}`,
        prompt: factualPrompt(rng, task, c),
        kind: 'factual',
        task,
        answer: factAnswer(task, c, true) as string,
        country: c,
      });
    }
  }
  return out;
}

function reasoningQueries(rng: Rng): DemoQueryInfo[] {
  const out: DemoQueryInfo[] = [];
  const seen = new Set<string>();
  for (const task of Object.keys(REASONING_COUNTS) as ReasoningTask[]) {
    let i = 0;
    while (i < REASONING_COUNTS[task]) {
      const p: Problem = task === 'arithmetic' ? drawArithmetic(rng, true) : task === 'slopes' ? drawSlope(rng) : drawLinear(rng);
      const key = problemKey(p);
      if (seen.has(key)) continue;
      seen.add(key);
      i++;
      out.push({
        id: `reason-${task}-${String(i).padStart(2, '0')}`,
        prompt: problemPrompt(p),
        kind: 'reasoning',
        task,
        answer: String(p.answer),
        problem: p,
      });
    }
  }
  return out;
}

/** Invented places (not from countries-list, and not producible by the corpus's name generator). */
const INVENTED: readonly [string, string][] = [
  ['Zembla', 'Onhava'],
  ['Orsinia', 'Krasnoy'],
  ['Freedonia', 'Fredville'],
  ['Genovia', 'Pyrus'],
];

function controlQueries(rng: Rng, reasoningKeys: ReadonlySet<string>): DemoQueryInfo[] {
  const out: DemoQueryInfo[] = [];
  const sentences = new Set<string>();
  while (sentences.size < 4) sentences.add(drillSentence(rng));
  let i = 0;
  for (const s of sentences) {
    out.push({ id: `control-copy-${++i}`, prompt: `Repeat after me: ${s}\n`, kind: 'control', task: 'copy', answer: s });
  }
  i = 0;
  for (const [land, city] of INVENTED) {
    out.push({
      id: `control-context-fact-${++i}`,
      prompt: `Read the text and answer the question.\n\nThe capital of ${land} is ${city}.\n\nQ: What is the capital of ${land}?\nA:`,
      kind: 'control',
      task: 'context-fact',
      answer: city,
    });
  }
  const problems: ArithmeticProblem[] = [];
  while (problems.length < 4) {
    const p = drawArithmetic(rng, true);
    if (!reasoningKeys.has(problemKey(p)) && !problems.some((q) => problemKey(q) === problemKey(p))) problems.push(p);
  }
  i = 0;
  for (const p of problems) {
    const expr = arithmeticExpression(p);
    out.push({
      id: `control-context-number-${++i}`,
      prompt: `Read the text and answer the question.\n\nThe result of ${expr} is ${p.answer}.\n\nQ: What is the result of ${expr}?\nA:`,
      kind: 'control',
      task: 'context-number',
      answer: String(p.answer),
      problem: p,
    });
  }
  return out;
}

let cached: DemoQueryInfo[] | undefined;

/** Every demo query, in file order. */
export function buildQueries(): DemoQueryInfo[] {
  if (cached !== undefined) return cached;
  const rng = new Rng(QUERY_SEED, 'queries');
  const factual = factualQueries(rng.fork('factual'));
  const reasoning = reasoningQueries(rng.fork('reasoning'));
  const control = controlQueries(rng.fork('control'), new Set(reasoning.map((q) => problemKey(q.problem as Problem))));
  cached = [...factual, ...reasoning, ...control];
  return cached;
}

/**
 * What the corpus must not contain: the problems of the reasoning and control queries
 * (`problemKey`s) and the control drill sentences (`sentence:<text>`).
 */
export function reservedKeys(): Set<string> {
  const keys = new Set<string>();
  for (const q of buildQueries()) {
    if (q.problem !== undefined) keys.add(problemKey(q.problem));
    if (q.task === 'copy') keys.add(`sentence:${q.answer}`);
  }
  return keys;
}

/** The JSONL text of demo/queries.jsonl. */
export function queriesJsonl(): string {
  return buildQueries()
    .map((q) => JSON.stringify({ id: q.id, prompt: q.prompt, kind: q.kind, task: q.task, answer: q.answer }))
    .join('\n')
    .concat('\n');
}

/** The same queries as an .infq query file (demo/queries.infq, docs/QUERIES.md). */
export function queriesInfq(): string {
  return formatInfq(buildQueries().map((q) => ({ id: q.id, prompt: q.prompt, kind: q.kind, task: q.task, answer: q.answer })));
}

export const DEFAULT_QUERIES_PATH = resolve(__dirname, '..', 'queries.jsonl');
export const DEFAULT_INFQ_PATH = resolve(__dirname, '..', 'queries.infq');

// Bundled (the benchmark imports this module through the corpus generator), every module is `module`:
// run only when this file itself is the script.
if (require.main === module && /queries\.[cm]?[tj]s$/.test(process.argv[1] ?? '')) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--out');
  const out = at >= 0 && args[at + 1] !== undefined ? resolve(args[at + 1]) : DEFAULT_QUERIES_PATH;
  writeFileSync(out, queriesJsonl());
  const infq = at >= 0 ? out.replace(/\.jsonl$/, '') + '.infq' : DEFAULT_INFQ_PATH;
  writeFileSync(infq, queriesInfq());
  const qs = buildQueries();
  const count = (k: DemoQueryKind) => qs.filter((q) => q.kind === k).length;
  console.log(`wrote ${qs.length} queries to ${out} and ${infq} (factual ${count('factual')}, reasoning ${count('reasoning')}, control ${count('control')})`);
}
