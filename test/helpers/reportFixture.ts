/**
 * Results folders for the panel and report tests, with no model: synthetic heavy-tailed scores written
 * with writeResults (and, when a corpus is written, analysis.json from the real analyses). Queries share
 * a component per task (so the heatmap has structure), favour a source per kind (so multipliers do), and
 * the corpus holds hostile text (markup, scripts, javascript: links) among the top documents.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyze, writeAnalysis, type AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { writeResults } from '../../server/src/engine/results/io';
import type { LoadedResults, ResultsDocument, ResultsMeta, ResultsQuery } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';

export const HOSTILE_TEXTS = [
  `<script>window.__pwned = 'script'</script> Paris is the capital of France.`,
  `<img src=x onerror="window.__pwned = 'img'"> <b>not bold</b> &amp; entities &lt;kept&gt;`,
  `<a href="javascript:window.__pwned = 'link'">click me</a> for the capital of Japan, Tokyo.`,
  `</script><script>window.__pwned = 'breakout'</script><!-- <script> -->`,
  `<style>body { display: none }</style> def f(a, b): return a - b # 7 - 4 = 3`,
];
export const HOSTILE_ID = `doc"><svg onload="window.__pwned = 'id'">`;
export const HOSTILE_SOURCE = '<i>web</i>';
export const HOSTILE_PROMPT = `What is <b>2+2</b>? <script>window.__pwned = 'prompt'</script>`;

const SOURCES = ['code', 'math', 'wiki', 'web', 'qa'];
const FAVOURED: Record<string, string> = { factual: 'wiki', reasoning: 'code', control: 'web' };

export interface FixtureQuery {
  id: string;
  kind: string | null;
  task: string | null;
  answer: string | null;
  prompt?: string;
  completion?: string;
}

export const FIXTURE_QUERIES: FixtureQuery[] = [
  { id: 'capital-fr', kind: 'factual', task: 'capitals', answer: 'Paris', completion: ' Paris' },
  { id: 'capital-jp', kind: 'factual', task: 'capitals', answer: 'Tokyo', completion: ' Tokyo' },
  { id: 'capital-it', kind: 'factual', task: 'capitals', answer: 'Rome', completion: ' Rome' },
  { id: 'river-eg', kind: 'factual', task: 'rivers', answer: 'Nile', completion: ' the Nile' },
  { id: 'arith-1', kind: 'reasoning', task: 'arithmetic', answer: '21', completion: ' 7 - 4 = 3, 3 * 7 = 21' },
  { id: 'arith-2', kind: 'reasoning', task: 'arithmetic', answer: '12', completion: ' 12', prompt: HOSTILE_PROMPT },
  { id: 'arith-3', kind: 'reasoning', task: 'arithmetic', answer: '9', completion: ' 9' },
  { id: 'slope-1', kind: 'reasoning', task: 'slopes', answer: '-3', completion: ' -3' },
  { id: 'slope-2', kind: 'reasoning', task: 'slopes', answer: '2', completion: ' 2' },
  { id: 'story', kind: 'control', task: null, answer: null, completion: ' once upon a time' },
];

export interface ResultsFixture {
  results: string;
  corpus?: string;
  documents: ResultsDocument[];
  queries: ResultsQuery[];
  scores: Float32Array;
  analysis?: AnalysisReport;
  /** Corpus index of the hostile documents (the top documents of the first query). */
  hostile: number[];
}

/** A heavy-tailed deviate (a normal with a log-normal scale). */
function heavy(rng: Rng): number {
  return rng.normal() * Math.exp(0.8 * rng.normal());
}

/**
 * Writes `dir/results` (and `dir/corpus.jsonl` + analysis.json when `corpus` is true). Documents get
 * `documents` entries; the first query's top documents are the hostile ones.
 */
export async function makeResultsFixture(
  dir: string,
  options: { documents?: number; queries?: FixtureQuery[]; corpus?: boolean; seed?: number } = {},
): Promise<ResultsFixture> {
  const N = options.documents ?? 400;
  const specs = options.queries ?? FIXTURE_QUERIES;
  const withCorpus = options.corpus ?? true;
  const rng = new Rng(options.seed ?? 7);
  mkdirSync(dir, { recursive: true });
  const corpus = withCorpus ? join(dir, 'corpus.jsonl') : undefined;
  const hostile = HOSTILE_TEXTS.map((_, i) => Math.min(N - 1, 3 + 7 * i));
  const sources = Array.from({ length: N }, (_, d) => (hostile.includes(d) && d === hostile[1] ? HOSTILE_SOURCE : SOURCES[d % SOURCES.length]));
  const ids = Array.from({ length: N }, (_, d) => (d === hostile[2] ? HOSTILE_ID : `doc-${d}`));
  const texts = Array.from({ length: N }, (_, d) => {
    const h = hostile.indexOf(d);
    if (h >= 0) return HOSTILE_TEXTS[h];
    return `${sources[d]} document ${d}: ${['the capital of Italy is Rome', 'x = 3 so 2x = 6', 'the river Nile flows north', 'once upon a time there was a cat', 'what is 3 * 3? 9'][d % 5]}.`;
  });
  const documents: ResultsDocument[] = ids.map((id, d) => ({
    index: d,
    id,
    source: sources[d],
    tokens: 10 + (d % 50),
    file: corpus ?? 'corpus.jsonl',
    line: d + 1,
  }));
  const queries: ResultsQuery[] = specs.map((q, i) => ({
    id: q.id,
    kind: q.kind,
    task: q.task,
    prompt: q.prompt ?? `Prompt of ${q.id}:`,
    completion: q.completion ?? ' …',
    generated: true,
    answer: q.answer,
    nllNats: 2 + i * 0.75,
    promptTokens: [1, 10, 11, 12],
    completionTokens: [20, 21],
  }));
  const tasks = [...new Set(specs.map((q) => q.task ?? q.kind ?? ''))];
  const shared = tasks.map(() => Float64Array.from({ length: N }, () => heavy(rng)));
  const scores = new Float32Array(specs.length * N);
  specs.forEach((q, i) => {
    const common = shared[tasks.indexOf(q.task ?? q.kind ?? '')];
    const favoured = FAVOURED[q.kind ?? ''] ?? '';
    for (let d = 0; d < N; d++) {
      let s = 0.6 * common[d] + heavy(rng);
      if (sources[d] === favoured) s += Math.abs(heavy(rng));
      scores[i * N + d] = 1e-3 * s * queries[i].nllNats;
    }
  });
  // The hostile documents lead the first query's ranking (so they are on its first page of cards).
  hostile.forEach((d, r) => (scores[d] = 1 - 0.1 * r));
  // The corpus is written first: results record its fingerprint, which the panel and report check.
  if (corpus) writeFileSync(corpus, texts.map((text, d) => JSON.stringify({ id: ids[d], source: sources[d], text })).join('\n') + '\n');
  const meta: ResultsMeta = {
    tool: 'influence-lens test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { path: 'model', fingerprint: 'm', architecture: 'llama' },
    corpus: {
      path: corpus ?? 'corpus.jsonl',
      fingerprint: corpus ? await corpusFingerprint({ path: corpus }) : 'c',
      documents: N,
      skipped: 0,
      skippedIssues: [],
    },
    factors: { path: 'factors', strategy: 'ekfac', fisher: 'sampled', documents: N, tokens: 10 * N },
    strategy: 'ekfac',
    damping: { 'layers.0.mlp.down': 1e-3 },
    rank: null,
    method: { scoring: 'exact', contraction: { 'layers.0.mlp.down': 'dense' }, maxLen: 64, shard: null },
    documents,
    queries,
  };
  const results = join(dir, 'results');
  const written = writeResults(results, meta, scores);
  let analysis: AnalysisReport | undefined;
  if (corpus) {
    const loaded: LoadedResults = { dir: results, results: written, scores };
    analysis = analyze(loaded, { text: (d) => texts[d], permutations: 200 });
    writeAnalysis(results, analysis);
  }
  return { results, corpus, documents, queries, scores, analysis, hostile };
}
