/**
 * `influence-lens analyze` end to end: a small fake results folder (writeResults) and its corpus
 * file → analysis.json and the headline table; the corpus found via --corpus when the recorded path
 * is gone, the answer analysis skipped (not wrong) when the corpus is missing or not the one scored.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runAnalyze } from '../../server/src/cli/analyze';
import { UsageError } from '../../server/src/cli/args';
import { ANALYSIS_FILE, readAnalysis, type AnalysisReport } from '../../server/src/engine/analysis/analyze';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { writeResults } from '../../server/src/engine/results/io';
import type { ResultsMeta, ResultsQuery } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';

const N = 30;
const SOURCES = Array.from({ length: N }, (_, d) => (d < 3 ? 'code' : d < 12 ? 'wiki' : 'web'));
const TEXTS = Array.from({ length: N }, (_, d) => `${SOURCES[d]} document number ${d + 100}`);
TEXTS[3] = 'Paris is the capital and largest city of France.'; // wiki
TEXTS[4] = 'Tokyo is the capital of Japan.'; // wiki
TEXTS[0] = 'def f(a, b, c):\n    return (a - b) * c  # f(7, 4, 7) == 21'; // code

interface Fixture {
  dir: string;
  results: string;
  corpus: string;
}

function query(id: string, kind: string | null, task: string | null, answer: string | null, completion: string, nllNats: number): ResultsQuery {
  return { id, kind, task, prompt: `prompt ${id}`, completion, generated: true, answer, nllNats, promptTokens: [1, 5], completionTokens: [6] };
}

async function makeFixture(corpusLines = TEXTS.map((text, d) => ({ id: `doc-${d}`, source: SOURCES[d], text })), recordedCorpus?: string): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'il-analyze-'));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusLines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  const queries = [
    query('f1', 'factual', 'capitals', 'Paris', ' Paris', 2),
    query('f2', 'factual', 'capitals', 'Tokyo', ' Kyoto', 4),
    Object.assign(query('r1', 'reasoning', 'arithmetic', '21', ' 7 - 4 = 3, 3 * 7 = 21', 10), { steps: ['3'] }),
    query('r2', 'reasoning', 'arithmetic', '12', ' 12', 8),
    query('r3', 'reasoning', 'slopes', '-3', ' -3', 6),
    query('r4', 'reasoning', 'slopes', '5', ' 4', 7),
    query('c1', 'control', null, null, ' once upon a time', 5),
  ];
  // Factual queries favour wiki (f1 most of all document 3, f2 document 4), reasoning favours code.
  const rng = new Rng(11);
  const scores = new Float32Array(queries.length * N);
  queries.forEach((q, i) => {
    for (let d = 0; d < N; d++) {
      let s = 0.1 * rng.normal();
      if (q.kind === 'factual' && SOURCES[d] === 'wiki') s += 1 / (d + 1);
      if (q.kind === 'reasoning' && SOURCES[d] === 'code') s += 2 / (d + 1);
      scores[i * N + d] = s;
    }
  });
  scores[0 * N + 3] = 10;
  scores[1 * N + 4] = 10;
  const meta: ResultsMeta = {
    tool: 'influence-lens test',
    createdAt: '2026-01-01T00:00:00.000Z',
    model: { path: 'model', fingerprint: 'm', architecture: 'llama' },
    corpus: { path: recordedCorpus ?? corpus, fingerprint: await corpusFingerprint({ path: corpus }), documents: N, skipped: 0, skippedIssues: [] },
    factors: { path: 'factors', strategy: 'ekfac', fisher: 'sampled', documents: N, tokens: 300 },
    strategy: 'ekfac',
    damping: { 'layers.0.mlp.down': 1e-3 },
    rank: null,
    method: { scoring: 'exact', contraction: { 'layers.0.mlp.down': 'dense' }, maxLen: 64, shard: null },
    documents: SOURCES.map((source, d) => ({ index: d, id: `doc-${d}`, source, tokens: 10, file: corpus, line: d + 1 })),
    queries,
  };
  const results = join(dir, 'results');
  writeResults(results, meta, scores);
  return { dir, results, corpus };
}

async function run(args: string[]): Promise<{ report: AnalysisReport; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const report = await runAnalyze(args, new AbortController().signal, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { report, stdout, stderr };
}

test('analyze writes analysis.json and prints the headline table', async (t) => {
  const f = await makeFixture();
  t.after(() => rmSync(f.dir, { recursive: true, force: true }));
  const { report, stdout, stderr } = await run(['--results', f.results, '--permutations', '200']);
  const onDisk = readAnalysis(f.results);
  assert.deepEqual(onDisk, JSON.parse(JSON.stringify(report)));
  const text = readFileSync(join(f.results, ANALYSIS_FILE), 'utf8');
  assert.doesNotMatch(text, /NaN|Infinity/);
  assert.match(text, /\n {3}\[1,/, 'number arrays on one line');
  assert.equal(report.version, 1);
  assert.deepEqual(report.results.queries, 7);
  assert.deepEqual(report.kinds.reasoning, { queries: 4, tasks: { arithmetic: 2, slopes: 2 } });
  assert.equal(report.kinds.factual.queries, 2);
  // 1: the matrix and the groups.
  assert.equal(report.correlations.matrix.length, 7);
  assert.ok(report.correlations.groups.some((g) => g.label === 'factual × reasoning'));
  // 2, 3: every query has a fit and a total.
  assert.equal(report.powerLaw.perQuery.filter((q) => q.alpha !== null).length, 7);
  assert.ok(report.totalInfluence.headline.ratio100! > 0);
  // 4: f1's answer is its top document; f2's too; r1's "21" is in code document 0.
  assert.ok(report.answers.available);
  if (!report.answers.available) return;
  assert.deepEqual(report.answers.ks, [1, 2, 10, 30]);
  const byId = new Map(report.answers.perQuery.map((q) => [q.id, q]));
  assert.equal(byId.get('f1')!.firstRank, 1);
  assert.equal(byId.get('f1')!.completionHasAnswer, true);
  assert.equal(byId.get('f2')!.firstRank, 1);
  assert.equal(byId.get('f2')!.completionHasAnswer, false);
  assert.ok(byId.get('r1')!.firstRank !== null && byId.get('r1')!.steps?.length === 1);
  assert.equal(byId.get('c1'), undefined);
  assert.deepEqual(report.answers.byKind.factual.hitRate, [1, 1, 1, 1]);
  assert.equal(report.answers.missingTexts, 0);
  // 5: wiki is 30% of the corpus and fills the top 2 of both factual queries.
  assert.deepEqual(report.sources.ks, [1, 2, 10]);
  assert.equal(report.sources.byKind.factual.top.wiki[1], 1 / 0.3);
  assert.ok(report.sources.byKind.reasoning.top.code[0]! > 5, 'code (10%) leads for reasoning');
  // The printed table.
  for (const heading of [
    '1. Query-query correlation',
    '2. Power law',
    '3. Total positive influence per nat',
    '4. Answer in the top k',
    '5. Source over-representation',
  ]) {
    assert.ok(stdout.includes(heading), `${heading} in\n${stdout}`);
  }
  assert.match(stdout, /7 queries \(2 factual, 4 reasoning, 1 control\) × 30 documents/);
  assert.match(stdout, /^ {2}reasoning\/arithmetic +2 +1 /m);
  assert.match(stdout, /factual × reasoning/);
  assert.match(stdout, /factual vs reasoning \(Welch\): t = /);
  assert.match(stdout, /factual ÷ reasoning: [\d.]+× over all documents/);
  assert.match(stdout, /^ {2}factual +2 \(1\) +100% \(100%\)/m);
  assert.match(stdout, /wiki ×3\.3/);
  assert.match(stderr, /wrote .*analysis\.json/);
  // 6: the paper's findings, one per claim, each rate beside its base rate.
  assert.ok(stdout.includes("6. The paper's findings, side by side"));
  assert.deepEqual(
    report.findings.map((x) => x.analysis),
    [1, 2, 3, 4, 4, 5, 5, 5],
  );
  const factualAnswers = report.findings.find((x) => x.analysis === 4 && x.claim.includes('factual'))!;
  assert.match(factualAnswers.measured, /random k documents: \d+%/);
  assert.ok(factualAnswers.p !== null && factualAnswers.p > 0 && factualAnswers.p <= 1);
  const wiki = report.findings.find((x) => x.claim.startsWith('wiki'))!;
  // At the largest k of the ladder (10): the multiplier of section 5, beside the random spread around 1.
  assert.ok(
    wiki.measured.startsWith(`×${report.sources.byKind.factual.top.wiki[2]!.toFixed(2)} in the top 10 (random rankings: 95% of means within ×`),
    wiki.measured,
  );
  // --quiet silences stderr; --top sets k for answers and sources.
  const quiet = await run(['--results', f.results, '--quiet', '--top', '3', '--top', '5,40', '--permutations', '0']);
  assert.equal(quiet.stderr, '');
  assert.ok(quiet.report.answers.available && quiet.report.answers.ks.join() === '3,5,30');
  assert.deepEqual(quiet.report.sources.ks, [3, 5, 30]);
  assert.equal(quiet.report.correlations.groups[0].permutationP, null);
});

test('analyze finds the corpus with --corpus, and skips the answers when it is missing or differs', async (t) => {
  const gone = await makeFixture(undefined, '/nonexistent/corpus.jsonl');
  const other = await makeFixture(TEXTS.map((text, d) => ({ id: `other-${d}`, source: SOURCES[d], text })));
  t.after(() => {
    rmSync(gone.dir, { recursive: true, force: true });
    rmSync(other.dir, { recursive: true, force: true });
  });
  const missing = await run(['--results', gone.results, '--permutations', '0']);
  assert.equal(missing.report.answers.available, false);
  assert.match(missing.stdout, /4\. Answer[^\n]*\n {2}skipped: corpus not found: \/nonexistent\/corpus\.jsonl; pass --corpus/);
  assert.match(missing.stderr, /answer analysis skipped/);
  assert.ok(missing.stdout.includes('5. Source'), 'the other analyses still run');

  const given = await run(['--results', gone.results, '--corpus', gone.corpus, '--quiet', '--permutations', '0']);
  assert.equal(given.report.answers.available, true);

  // Scored with ids doc-*, corpus now says other-*: not the same corpus.
  const differs = await run(['--results', other.results, '--quiet', '--permutations', '0']);
  assert.equal(differs.report.answers.available, false);
  if (!differs.report.answers.available) assert.match(differs.report.answers.reason, /not the one scored \(\d+ documents differ/);
});

test('analyze: usage errors', async () => {
  await assert.rejects(run([]), UsageError);
  await assert.rejects(run(['--results', '/x', '--top', '0']), UsageError);
  await assert.rejects(run(['--results', '/x', '--bogus']), UsageError);
  await assert.rejects(run(['--results', '/nonexistent-results']), /no results in/);
});
