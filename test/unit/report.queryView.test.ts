/**
 * The single-query view model (engine/report): the ranking agrees with the analyses' topK/bottomK,
 * the histogram with a direct count, the sampled curve with a plain sort, α with the power-law analysis,
 * source multipliers with a direct count, pages at any depth, and the view stays small for large corpora.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { powerLawAnalysis } from '../../server/src/engine/analysis/powerLaw';
import { sourceShares } from '../../server/src/engine/analysis/sources';
import { bottomK, topK } from '../../server/src/engine/util/topK';
import { sampleRanks } from '../../server/src/engine/report/curve';
import { histogram } from '../../server/src/engine/report/histogram';
import { buildQueryView, documentPage, type QueryViewInput } from '../../server/src/engine/report/queryView';
import { rankingOf } from '../../server/src/engine/report/ranking';
import { scoreMeaning } from '../../server/src/common/scoreMeaning';
import { kLadder } from '../../server/src/engine/report/sourceLadder';
import type { ResultsDocument } from '../../server/src/engine/results/types';
import { Rng } from '../../server/src/engine/util/random';

const SOURCES = ['code', 'math', 'wiki', 'web', 'qa'];

/** Heavy-tailed scores with ties, zeros, −0 and non-finite values. */
function scoresOf(n: number, seed: number, specials = true): Float32Array {
  const rng = new Rng(seed);
  const s = Float32Array.from({ length: n }, () => rng.normal() * Math.exp(rng.normal()));
  if (specials && n > 40) {
    s[3] = s[4] = s[5] = 0.5; // ties
    s[6] = s[7] = -0.25;
    s[8] = 0;
    s[9] = -0;
    s[10] = NaN;
    s[11] = Infinity;
    s[12] = -Infinity;
  }
  return s;
}

/** Corpus indices unlike positions, so that a card naming the position instead would fail. */
function documentsOf(n: number): ResultsDocument[] {
  return Array.from({ length: n }, (_, d) => ({
    index: 1000 + 3 * d,
    id: `doc-${d}`,
    source: SOURCES[(d * 7) % 5 === 0 ? 2 : d % 5],
    tokens: 10,
    file: 'c.jsonl',
    line: d + 1,
  }));
}

function inputOf(n: number, seed = 1, nllNats = 4): QueryViewInput {
  return {
    ref: 'q',
    query: { id: 'q1', kind: 'factual', task: 'capitals', prompt: 'p', completion: ' c', nllNats, generated: true, answer: 'Paris', promptTokens: [1, 2, 3] },
    documents: documentsOf(n),
    scores: scoresOf(n, seed),
  };
}

/** The analyses' order, with ±∞ left out as the view does. */
function finiteOnly(s: Float32Array): Float32Array {
  return s.map((v) => (Number.isFinite(v) ? v : NaN));
}

test('the ranking is topK / bottomK of the analyses (ties by position, non-finite left out)', () => {
  for (const n of [0, 1, 7, 500, 5000]) {
    const s = scoresOf(n, n + 3);
    const r = rankingOf(s);
    const f = finiteOnly(s);
    assert.deepEqual([...r.descending], topK(f, n), `descending, n = ${n}`);
    assert.deepEqual([...r.ascending()], bottomK(f, n), `ascending, n = ${n}`);
    assert.deepEqual(
      [...r.values],
      [...r.descending].map((d) => (s[d] === 0 ? 0 : s[d])),
      `values, n = ${n}`,
    );
    assert.equal(r.nonFinite, n > 40 ? 3 : 0);
    assert.equal(rankingOf(s), r, 'cached per scores array');
  }
});

test('histogram: symmetric bins with 0 as an edge; counts equal a direct count', () => {
  const s = scoresOf(3000, 5);
  const div = 2.5;
  const h = histogram(s, div, 40);
  assert.equal(h.edges.length, 41);
  assert.equal(h.edges[20], 0);
  assert.ok(Math.abs(h.edges[0] + h.edges[40]) < 1e-12);
  const v = [...s].map((x) => x / div).filter(Number.isFinite);
  const max = Math.max(...v.map(Math.abs));
  assert.ok(Math.abs(h.edges[40] - max) <= 1e-12 * max);
  const direct = h.counts.map((_, i) => {
    const lo = h.edges[i];
    const hi = h.edges[i + 1];
    // Negative bins [lo, hi), positive bins (lo, hi]; the outermost edges include the extremes.
    return v.filter((x) => (i < 20 ? x < 0 && (x >= lo || i === 0) && x < hi : x > 0 && x > lo && (x <= hi || i === 39))).length;
  });
  assert.deepEqual(h.counts, direct);
  assert.equal(h.positive, v.filter((x) => x > 0).length);
  assert.equal(h.negative, v.filter((x) => x < 0).length);
  assert.equal(h.zero, 2);
  assert.equal(h.nonFinite, 3);
  assert.equal(h.counts.reduce((a, b) => a + b, 0) + h.zero, v.length);
  // All zero: no division by zero, everything counted as zero.
  const z = histogram(new Float32Array(5), 1, 10);
  assert.equal(z.zero, 5);
  assert.ok(z.edges.every(Number.isFinite));
});

test('curve: sampled ranks hold the sorted scores; α equals the power-law analysis', () => {
  const input = inputOf(4000, 9, 3);
  const view = buildQueryView(input);
  const perNat = [...input.scores].map((x) => x / 3).filter(Number.isFinite);
  const pos = perNat.filter((x) => x > 0).sort((a, b) => b - a);
  const neg = perNat
    .filter((x) => x < 0)
    .map((x) => -x)
    .sort((a, b) => b - a);
  const { positive, negative, fit } = view.curve;
  assert.equal(positive.count, pos.length);
  assert.equal(negative.count, neg.length);
  positive.ranks.forEach((r, i) => assert.equal(positive.values[i], pos[r - 1]));
  negative.ranks.forEach((r, i) => assert.equal(negative.values[i], neg[r - 1]));
  assert.equal(positive.ranks[positive.ranks.length - 1], pos.length);
  // The analysis, on the same per-nat row (±∞ made NaN so that it fits the row at all).
  const row = Float64Array.from(input.scores, (x) => (Number.isFinite(x) ? x / 3 : NaN));
  row[10] = row[11] = row[12] = -1; // the analysis refuses non-finite rows; negatives do not enter the fit
  const reference = powerLawAnalysis([row], [{ id: 'q1', kind: 'factual', task: null }]).perQuery[0];
  assert.equal(fit?.alpha, reference.alpha);
  assert.equal(fit?.intercept, reference.intercept);
  assert.equal(fit?.points, 500);
});

test('sampleRanks: every rank to 50, then about 40 per decade, ending at the count', () => {
  assert.deepEqual(sampleRanks(0), []);
  assert.deepEqual(sampleRanks(3), [1, 2, 3]);
  const r = sampleRanks(1_000_000);
  assert.deepEqual(
    r.slice(0, 50),
    Array.from({ length: 50 }, (_, i) => i + 1),
  );
  assert.equal(r[r.length - 1], 1_000_000);
  assert.ok(r.every((x, i) => i === 0 || x > r[i - 1]));
  assert.ok(r.length < 50 + 40 * 5, `${r.length} samples`);
});

test('summary and sources agree with direct counts', () => {
  const input = inputOf(2000, 4, 2);
  const view = buildQueryView(input);
  const N = 2000;
  const finite = [...input.scores].map((x, d) => ({ v: x / 2, d })).filter((x) => Number.isFinite(x.v));
  const total = finite.filter((x) => x.v > 0).reduce((s, x) => s + x.v, 0);
  assert.ok(Math.abs(view.summary.totalPositive - total) < 1e-9 * total);
  assert.equal(view.summary.ranked, N - 3);
  const top = topK(finiteOnly(input.scores), N);
  const share1 = top.slice(0, 20).reduce((s, d) => s + Math.max(0, input.scores[d] / 2), 0) / total;
  assert.ok(Math.abs(view.summary.topShares[0].share! - share1) < 1e-9);
  assert.equal(view.summary.topShares[0].documents, 20);

  assert.deepEqual(view.sources.sources, sourceShares(input.documents.map((d) => d.source)));
  assert.deepEqual(view.sources.ks, kLadder(N));
  assert.deepEqual(view.sources.ks, [10, 20, 50, 100, 200, 500, 1000]);
  const bottom = bottomK(finiteOnly(input.scores), N);
  for (const [j, k] of view.sources.ks.entries()) {
    for (const { source, share } of view.sources.sources) {
      const inTop = top.slice(0, k).filter((d) => input.documents[d].source === source).length;
      const inBottom = bottom.slice(0, k).filter((d) => input.documents[d].source === source).length;
      assert.ok(Math.abs(view.sources.top[source][j]! - inTop / k / share) < 1e-12, `${source} top ${k}`);
      assert.ok(Math.abs(view.sources.bottom[source][j]! - inBottom / k / share) < 1e-12, `${source} bottom ${k}`);
    }
  }
  assert.equal(view.sources.defaultK, 50);
});

test('pages: any offset of either side, cards naming corpus indices', () => {
  const input = inputOf(600, 8, 5);
  const top = topK(finiteOnly(input.scores), 600);
  const bottom = bottomK(finiteOnly(input.scores), 600);
  for (const [side, order] of [
    ['top', top],
    ['bottom', bottom],
  ] as const) {
    for (const offset of [0, 10, 590, 597, 1000]) {
      const page = documentPage(input, side, offset, 10);
      assert.equal(page.total, 597);
      assert.equal(page.offset, Math.min(offset, 597));
      const expected = order.slice(offset, offset + 10);
      assert.deepEqual(
        page.cards.map((c) => c.docIndex),
        expected.map((d) => 1000 + 3 * d),
        `${side} at ${offset}`,
      );
      page.cards.forEach((c, i) => {
        assert.equal(c.rank, page.offset + i + 1);
        assert.equal(c.score, input.scores[expected[i]]);
        assert.equal(c.perNat, input.scores[expected[i]] / 5);
        assert.equal(c.id, `doc-${expected[i]}`);
        assert.equal(c.snippet, undefined);
      });
    }
  }
  const view = buildQueryView(input);
  assert.deepEqual(view.top, documentPage(input, 'top', 0, 10));
  assert.deepEqual(view.bottom, documentPage(input, 'bottom', 0, 10));
  assert.equal(view.query.promptTokens, 3);
});

test('a per-nat view carries the line on what a score means, with its nats; a raw view none', () => {
  assert.deepEqual(buildQueryView(inputOf(100, 2, 3.5)).meaning, { line: scoreMeaning(3.5), section: 'What a score means' });
  assert.match(
    scoreMeaning(3.5),
    /^Score\/nat: under the influence-function approximation \(EK-FAC\), .* log-probability \(\+ more likely, − less; .*\), divided by the completion's 3\.50 nats/,
  );
  assert.equal(buildQueryView(inputOf(100, 2, 0)).meaning, undefined);
});

test('raw scores when the completion has no positive NLL', () => {
  const view = buildQueryView(inputOf(100, 2, 0));
  assert.equal(view.unit, 'raw');
  assert.equal(view.top.cards[0].perNat, null);
  assert.equal(view.summary.max, view.top.cards[0].score);
});

test('a 200,000-document view stays a few kilobytes', () => {
  const input = inputOf(200_000, 12);
  const json = JSON.stringify(buildQueryView(input));
  assert.ok(json.length < 64 * 1024, `${json.length} bytes`);
});
