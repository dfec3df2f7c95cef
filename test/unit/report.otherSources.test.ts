/**
 * Thousands of source labels are stored (analysis.json) and drawn as the largest 20 and one "N other
 * sources" entry, in the batch view and the single-query view alike, and that entry's multipliers are
 * those of the rest relabelled as one source; `analyze`'s headline names the largest sources only.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headlineTable } from '../../server/src/engine/analysis/headline';
import type { SourceShare } from '../../server/src/common/views';
import { sourceAnalysis } from '../../server/src/engine/analysis/sources';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import { buildBatchView } from '../../server/src/engine/report/batchView';
import { boundedSources, MAX_SOURCES } from '../../server/src/engine/report/otherSources';
import { sourceLadder } from '../../server/src/engine/report/sourceLadder';
import { analyze, readAnalysis, writeAnalysis, type AnalysisReport } from '../../server/src/engine/analysis/analyze';
import type { LoadedResults, ResultsDocument } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';

const N = 20_000;
const LABELS = 5_000;
const rng = new Rng(3);
// A few large sources and thousands of small ones (every label a different length).
const sources = Array.from({ length: N }, (_, d) => (d % 4 === 0 ? ['web', 'code', 'wiki'][d % 3] : `label-${(d * 7919) % LABELS}`));
const scores = Array.from({ length: 6 }, () => Float64Array.from({ length: N }, () => rng.normal()));
const labels = scores.map((_, q) => ({ id: `q${q}`, kind: q < 3 ? 'factual' : 'reasoning', task: null }));
const ks = [10, 50, 500, 5000];
const top = scores.map((s) => topK(s, 5000));
const bottom = scores.map((s) => bottomK(s, 5000));

function close(a: (number | null)[], b: (number | null)[], what: string): void {
  assert.equal(a.length, b.length, what);
  a.forEach((x, j) =>
    assert.ok(x === null ? b[j] === null : Math.abs(x - (b[j] as number)) < 1e-9 * Math.max(1, Math.abs(x)), `${what}[${j}]: ${x} vs ${b[j]}`),
  );
}

/** A results folder's contents in memory, and its analyses (as `analyze` computes them). */
function analysed(sourceOf: (d: number) => string): { results: LoadedResults['results']; report: AnalysisReport } {
  const documents = sources.map((_, d) => ({ index: d, id: `d${d}`, source: sourceOf(d), tokens: 1, file: 'c', line: d + 1 }));
  const queries = labels.map((l, q) => ({
    id: `q${q}`,
    kind: l.kind,
    task: null,
    prompt: 'p',
    completion: ' c',
    generated: false,
    answer: null,
    nllNats: 1,
    promptTokens: [1],
    completionTokens: [2],
  }));
  const flat = new Float32Array(scores.length * N);
  scores.forEach((row, q) => flat.set(row, q * N));
  const results = { documents, queries, createdAt: 'now', strategy: 'ekfac', rank: null, corpus: { path: 'c' } } as unknown as LoadedResults['results'];
  return { results, report: analyze({ dir: 'r', results, scores: flat }, { permutations: 10, ks }) };
}

test('the batch view draws the 20 largest sources and the rest as one, whose multipliers are theirs together', () => {
  const { results, report } = analysed((d) => sources[d]);
  const full = report.sources;
  assert.equal(full.sources.length, MAX_SOURCES, 'analysis.json names the largest sources only');
  assert.equal(full.other?.sources, new Set(sources).size - MAX_SOURCES);
  const view = buildBatchView({ dir: 'r', results }, report).sources;
  assert.equal(view.sources.length, MAX_SOURCES + 1);
  assert.deepEqual(view.sources.slice(0, MAX_SOURCES), full.sources.slice(0, MAX_SOURCES));
  const other = view.sources[MAX_SOURCES];
  assert.match(other.source, /^[\d,]+ other sources$/);
  // The rest relabelled as one source: its shares and multipliers are the "other" entry's.
  const shown = new Set(full.sources.slice(0, MAX_SOURCES).map((s) => s.source));
  const relabelled = sourceAnalysis(
    labels,
    top,
    bottom,
    sources.map((s) => (shown.has(s) ? s : 'OTHER')),
    ks,
  );
  const merged = relabelled.sources.find((s) => s.source === 'OTHER') as SourceShare;
  assert.equal(other.documents, merged.documents);
  assert.ok(Math.abs(other.share - merged.share) < 1e-12);
  for (const kind of ['factual', 'reasoning']) {
    assert.deepEqual(
      Object.keys(view.byKind[kind].top),
      view.sources.map((s) => s.source),
    );
    for (const side of ['top', 'bottom'] as const) {
      close(view.byKind[kind][side][other.source], relabelled.byKind[kind][side].OTHER, `${kind} ${side} other`);
      for (const s of shown) close(view.byKind[kind][side][s], full.byKind[kind][side][s], `${kind} ${side} ${s}`);
    }
  }
  // Few sources: unchanged, no "other".
  const few = sourceAnalysis(
    labels,
    top,
    bottom,
    sources.map((s) => (s.startsWith('label') ? 'small' : s)),
    ks,
  );
  assert.deepEqual(boundedSources(few).sources, few.sources);
});

test('the single-query view: the 20 largest sources and the rest as one bar, counted directly', () => {
  const documents: ResultsDocument[] = sources.map((source, d) => ({ index: d, id: `d${d}`, source, tokens: 1, file: 'c', line: d + 1 }));
  const descending = topK(scores[0], N);
  const ascending = bottomK(scores[0], N);
  const ladder = sourceLadder(documents, descending, ascending, ks);
  assert.equal(ladder.sources.length, MAX_SOURCES + 1);
  assert.equal(ladder.otherSources, new Set(sources).size - MAX_SOURCES);
  const other = ladder.sources[MAX_SOURCES];
  const shown = new Set(ladder.sources.slice(0, MAX_SOURCES).map((s) => s.source));
  assert.equal(other.documents, sources.filter((s) => !shown.has(s)).length);
  ks.forEach((k, j) => {
    const inTop = descending.slice(0, k).filter((d) => !shown.has(sources[d])).length;
    const inBottom = ascending.slice(0, k).filter((d) => !shown.has(sources[d])).length;
    assert.ok(Math.abs(ladder.top[other.source][j]! - inTop / k / other.share) < 1e-9, `top ${k}`);
    assert.ok(Math.abs(ladder.bottom[other.source][j]! - inBottom / k / other.share) < 1e-9, `bottom ${k}`);
  });
});

test("analyze's headline lists the largest sources and sums the rest (it printed every label on one line)", () => {
  const long = 'a-very-long-source-label-'.repeat(40);
  const text = headlineTable(analysed((d) => (d === 1 ? long : sources[d])).report);
  const corpus = text.split('\n').find((l) => l.startsWith('  corpus: '));
  assert.ok(corpus, text);
  assert.match(corpus, /, [\d,]+ other sources \d+%$/);
  assert.ok(!text.includes(long), 'a long label is cut');
  const longest = Math.max(...text.split('\n').map((l) => l.length));
  assert.ok(longest < 400, `the longest line has ${longest} characters`);
});

test('analysis.json stays bounded with thousands of labels: 20 named, the rest one aggregate, and the report code opens it', () => {
  // Every document its own label but for the few large sources, and "math" (a finding's source) small.
  const many = (d: number) => (d % 4 === 0 ? ['web', 'code', 'wiki'][d % 3] : d % 97 === 1 ? 'math' : `label-${d}`);
  const { results, report } = analysed(many);
  const labelCount = new Set(sources.map((_, d) => many(d))).size;
  assert.ok(labelCount > 14_000, `${labelCount} labels`);
  const s = report.sources;
  assert.ok(s.sources.length <= MAX_SOURCES + 3, `${s.sources.length} sources named`);
  assert.ok(
    s.sources.some((x) => x.source === 'math'),
    "the findings' sources are named however small",
  );
  assert.equal(s.sources.length + s.other!.sources, labelCount, 'every label is named or counted in "other"');
  assert.equal(
    s.sources.reduce((n, x) => n + x.documents, s.other!.documents),
    N,
  );
  for (const g of [...Object.values(s.byKind), ...Object.values(s.byTask)]) {
    assert.deepEqual(
      Object.keys(g.top),
      s.sources.map((x) => x.source),
    );
    assert.equal(g.other?.top.length, s.ks.length);
  }
  // The stored aggregate's multipliers are those of the rest relabelled as one source.
  const named = new Set(s.sources.map((x) => x.source));
  const relabelled = sourceAnalysis(
    labels,
    top,
    bottom,
    sources.map((_, d) => (named.has(many(d)) ? many(d) : 'OTHER')),
    ks,
    MAX_SOURCES + 3,
  );
  for (const kind of ['factual', 'reasoning'])
    for (const side of ['top', 'bottom'] as const) close(s.byKind[kind].other![side], relabelled.byKind[kind][side].OTHER, `${kind} ${side} other`);

  const dir = mkdtempSync(join(tmpdir(), 'il-analysis-bounded-'));
  try {
    const path = writeAnalysis(dir, report);
    const bytes = statSync(path).size;
    assert.ok(bytes < 64 * 1024, `analysis.json has ${bytes} bytes for ${labelCount} labels`);
    const read = readAnalysis(dir);
    const view = buildBatchView({ dir: 'r', results }, read).sources;
    assert.equal(view.sources.length, MAX_SOURCES + 1);
    const other = view.sources[MAX_SOURCES];
    assert.equal(other.source, `${(labelCount - MAX_SOURCES).toLocaleString('en-US')} other sources`);
    assert.equal(
      view.sources.reduce((n, x) => n + x.documents, 0),
      N,
    );
    // The drawn "other" (stored aggregate and named sources beyond 20) is the rest relabelled as one.
    const shown = new Set(view.sources.slice(0, MAX_SOURCES).map((x) => x.source));
    const drawn = sourceAnalysis(
      labels,
      top,
      bottom,
      sources.map((_, d) => (shown.has(many(d)) ? many(d) : 'OTHER')),
      ks,
    );
    for (const kind of ['factual', 'reasoning'])
      for (const side of ['top', 'bottom'] as const) close(view.byKind[kind][side][other.source], drawn.byKind[kind][side].OTHER, `drawn ${kind} ${side}`);
    const headline = headlineTable(read);
    assert.match(headline, new RegExp(`${(labelCount - 10).toLocaleString('en-US')} other sources`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an analysis.json written before the bound (every source named, no "other") still opens', () => {
  const { results, report } = analysed((d) => sources[d]);
  const old = { ...report, sources: sourceAnalysis(labels, top, bottom, sources, ks, Infinity) };
  assert.equal(old.sources.other, null);
  delete old.sources.other;
  for (const g of Object.values(old.sources.byKind)) assert.equal(g.other, undefined);
  const view = buildBatchView({ dir: 'r', results }, old).sources;
  const bounded = buildBatchView({ dir: 'r', results }, report).sources;
  assert.deepEqual(
    view.sources.map((x) => [x.source, x.documents]),
    bounded.sources.map((x) => [x.source, x.documents]),
  );
  for (const [kind, g] of Object.entries(bounded.byKind))
    for (const side of ['top', 'bottom'] as const) {
      assert.deepEqual(Object.keys(view.byKind[kind][side]), Object.keys(g[side]));
      for (const [source, values] of Object.entries(g[side])) close(view.byKind[kind][side][source], values, `${kind} ${side} ${source}`);
    }
});
