/**
 * EK-FAC against exact influence on a model small enough to build the damped Gauss-Newton matrix of one
 * tracked weight explicitly (docs/EKFAC.md, "How to know it is right"): a random 1-layer llama
 * (dim 8, hidden 16, character vocabulary of 32), one tracked module `layers.0.mlp.down` (8×16 = 128
 * parameters), 40 short documents and 6 queries. Exact scores I = ∇f(q)ᵀ (G + λI)⁻¹ ∇L(d) come from
 * test/helpers/exactInfluence.ts (float64 finite differences on the plain-loop reference forward pass,
 * Cholesky solve), with the λ the engine's ekfac chose, passed explicitly to every strategy.
 *
 * Two Fisher choices:
 * - 'sampled' (the default) estimates the true Fisher = Gauss-Newton G = (1/N_docs) Σ_d Σ_t J_tᵀ H_t J_t.
 *   EK-FAC should track the exact scores closely (Pearson ≥ 0.9) and beat K-FAC and identity at the
 *   shared λ. Note that K-FAC's Λ = e_S e_Aᵀ is on the per-token scale (A, S are token averages) while
 *   EK-FAC's is per document, so the shared λ over-damps K-FAC by ~tokens per document; K-FAC at its
 *   own default λ is printed too (on this tiny model it is about as good as EK-FAC, whose Λ carries the
 *   noise of one label draw per token; EK-FAC with the noise-free Λ = diag(KGKᵀ) is printed as well).
 * - 'empirical' is compared with the empirical Fisher (1/N_docs) Σ_d ∇L(d) ∇L(d)ᵀ. There the engine's
 *   eigenvalue correction is checked to be exact (Λ = diag of the rotated matrix, no sampling noise),
 *   but EK-FAC is NOT expected to reach 0.9: with actual labels the per-document gradients of an
 *   untrained model are correlated across tokens, so the per-token Kronecker eigenbasis leaves most of
 *   the empirical Fisher off the diagonal (printed below as "off-diagonal share"). Its correlations are
 *   printed; only "EK-FAC beats identity" is asserted.
 *
 * `identity` in the comparisons is the plain gradient dot product computed from the exact gradients,
 * which is what the engine's identity strategy must produce; a separate test checks the engine's
 * identity scores against it.
 */
import { pearson, spearman } from '../../server/src/engine/analysis/stats';
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import type { FisherMode } from '../../server/src/engine/ekfac/types';
import type { ModuleFactors } from '../../server/src/engine/ekfac/types';
import type { OpenedModel } from '../../server/src/engine/model/openModel';
import { relativeError } from '../helpers/compare';
import { charTokenizer, CHAR_VOCAB_SIZE } from '../helpers/charTokenizer';
import { exactGaussNewton, influenceFrom, logitJacobians, withEmpiricalFisher, type ExactGaussNewton } from '../helpers/exactInfluence';
import { fit, queryRecords, score, writeJsonlCorpus, type Setup } from '../helpers/influence';
import { randomCheckpoint, tinyLlamaConfig } from '../helpers/randomCheckpoint';

const MODULE = 'layers.0.mlp.down';
const MAX_LEN = 32;
const N_DOCS = 40;
const WORDS = ['the', 'cat', 'sat', 'on', 'a', 'mat', 'dog', 'ran', 'to', 'big', 'red', 'sun', 'is', 'hot', 'and', 'we', 'play'];
const QUERIES = [
  { prompt: 'the cat', completion: ' sat on a mat.' },
  { prompt: 'the dog', completion: ' ran to the sun.' },
  { prompt: 'we play', completion: ' and run.' },
  { prompt: 'a big', completion: ' red dog.' },
  { prompt: 'the sun is', completion: ' hot.' },
  { prompt: 'on a', completion: ' mat, we sat.' },
];

// ---------------------------------------------------------------------------------------------
// Setup: model, corpus, engine fits and scores, exact curvature and gradients
// ---------------------------------------------------------------------------------------------

/** mulberry32: a seeded uniform [0, 1). */
function uniform(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomTexts(n: number, seed: number): string[] {
  const r = uniform(seed);
  return Array.from({ length: n }, () => {
    const words = Array.from({ length: 2 + Math.floor(r() * 4) }, () => WORDS[Math.floor(r() * WORDS.length)]);
    return (words.join(' ') + '.').slice(0, MAX_LEN - 3); // + dummy prefix + BOS: always < MAX_LEN tokens
  });
}

interface EngineRun {
  /** The λ the engine's ekfac used by default (0.1 × mean Λ), then passed to every strategy. */
  damping: number;
  scores: { kfac: Float32Array; ekfac: Float32Array };
  /** K-FAC scored with its own default damping (0.1 × mean of its Λ): a diagnostic only. */
  kfacOwn: { scores: Float32Array; damping: number };
  factors: { kfac: ModuleFactors; ekfac: ModuleFactors };
}

let model: OpenedModel;
let setup: (fisher: FisherMode) => Setup;
let documents: number[][];
let queries: { tokens: number[]; promptLength: number }[];
let exact: ExactGaussNewton;
const engine = {} as Record<FisherMode, EngineRun>;
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'il-exact-'));
  dirs.push(d);
  return d;
};

before(async () => {
  await initBackend('wasm');
  const tokenizer = charTokenizer(join(tmp(), 'tokenizer.bin'));
  const config = tinyLlamaConfig({ vocabSize: CHAR_VOCAB_SIZE, dim: 8, hiddenDim: 16, nLayers: 1, nHeads: 2, nKvHeads: 1, maxSeqLen: MAX_LEN });
  model = { checkpoint: randomCheckpoint(config, 3), tokenizer };
  const texts = randomTexts(N_DOCS, 11);
  const corpus = writeJsonlCorpus(texts.map((text) => ({ text })));
  dirs.push(join(corpus, '..'));
  setup = (fisher) => ({ model, corpus, settings: { maxLen: MAX_LEN, fisher, seed: 0 }, workers: 1, modules: [MODULE] });

  // Tokens as the engine builds them (docs/EKFAC.md, Losses), built here independently.
  const bos = tokenizer.bosId;
  documents = texts.map((t) => [bos, ...tokenizer.encode(t)]);
  queries = QUERIES.map((q) => {
    const prompt = [bos, ...tokenizer.encode(q.prompt)];
    return { tokens: [...prompt, ...tokenizer.encode(q.completion)], promptLength: prompt.length };
  });
  for (const d of documents) assert.ok(d.length <= MAX_LEN && d.slice(1).every((id) => id >= 3), 'documents fit and use only in-vocab characters');

  const records = queryRecords(QUERIES);
  for (const fisher of ['sampled', 'empirical'] as const) {
    const s = setup(fisher);
    const kfacDir = tmp();
    const ekfacDir = tmp();
    await fit(s, 'kfac', kfacDir);
    await fit(s, 'ekfac', ekfacDir);
    const byDefault = await score(s, ekfacDir, records);
    const damping = byDefault.damping[MODULE];
    assert.ok(damping > 0, `ekfac default damping ${damping}`);
    const ekfac = await score(s, ekfacDir, records, { damping });
    const kfac = await score(s, kfacDir, records, { damping });
    const kfacOwn = await score(s, kfacDir, records);
    assert.deepEqual(
      ekfac.documents.map((d) => d.tokens),
      documents.map((d) => d.length),
      'engine document lengths',
    );
    assert.deepEqual(
      ekfac.queries.map((q) => [...q.promptTokens, ...q.completionTokens]),
      queries.map((q) => q.tokens),
      'engine query tokens',
    );
    assert.deepEqual(
      ekfac.queries.map((q) => q.promptTokens.length),
      queries.map((q) => q.promptLength),
    );
    const factor = (f: { modules: ModuleFactors[] }) => f.modules.find((m) => m.name === MODULE)!;
    engine[fisher] = {
      damping,
      scores: { kfac: kfac.scores, ekfac: ekfac.scores },
      kfacOwn: { scores: kfacOwn.scores, damping: kfacOwn.damping[MODULE] },
      factors: { kfac: factor(kfac.factors), ekfac: factor(ekfac.factors) },
    };
  }

  exact = exactGaussNewton({ checkpoint: model.checkpoint, module: MODULE, documents, queries });
});

after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** Plain gradient dot products ∇f(q)ᵀ∇L(d), [Q × D]: what the identity strategy must produce. */
function gradientDots(gn: ExactGaussNewton): Float64Array {
  const D = gn.documentGradients.length;
  const out = new Float64Array(gn.queryGradients.length * D);
  gn.queryGradients.forEach((gq, q) =>
    gn.documentGradients.forEach((gd, d) => {
      let s = 0;
      for (let k = 0; k < gq.length; k++) s += gq[k] * gd[k];
      out[q * D + d] = s;
    }),
  );
  return out;
}

/**
 * The Kronecker eigenbasis K = Q_S ⊗ Q_A acting on θ laid out [out, in] row-major:
 * (K x)[(o,i)] = (Q_Sᵀ X Q_A)[o, i], so K[(o,i), (o',i')] = QS[o', o] · QA[i', i].
 */
function kroneckerBasis(f: ModuleFactors): { K: Float64Array; P: number } {
  const { QA, QS, outDim: O, inDim: I } = f.eigen!;
  const P = O * I;
  const K = new Float64Array(P * P);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let o2 = 0; o2 < O; o2++) for (let i2 = 0; i2 < I; i2++) K[(o * I + i) * P + o2 * I + i2] = QS[o2 * O + o] * QA[i2 * I + i];
  return { K, P };
}

/** K G Kᵀ: the curvature in the eigenbasis. */
function rotated(G: Float64Array, K: Float64Array, P: number): Float64Array {
  const KG = new Float64Array(P * P);
  for (let a = 0; a < P; a++)
    for (let k = 0; k < P; k++) {
      const x = K[a * P + k];
      if (x !== 0) for (let c = 0; c < P; c++) KG[a * P + c] += x * G[k * P + c];
    }
  const R = new Float64Array(P * P);
  for (let a = 0; a < P; a++)
    for (let c = 0; c < P; c++) {
      let s = 0;
      for (let k = 0; k < P; k++) s += KG[a * P + k] * K[c * P + k];
      R[a * P + c] = s;
    }
  return R;
}

function diagonalOf(R: Float64Array, P: number): Float64Array {
  return Float64Array.from({ length: P }, (_, a) => R[a * P + a]);
}

/** sqrt(‖offdiag(R)‖²_F / ‖R‖²_F). */
function offDiagonalShare(R: Float64Array, P: number): number {
  let all = 0;
  let diag = 0;
  for (let a = 0; a < P; a++)
    for (let c = 0; c < P; c++) {
      const x = R[a * P + c] * R[a * P + c];
      all += x;
      if (a === c) diag += x;
    }
  return Math.sqrt((all - diag) / all);
}

/** EK-FAC scores built from exact gradients with a given Λ: ∇f(q)ᵀ Kᵀ diag(1/(Λ+λ)) K ∇L(d). */
function ekfacFrom(gn: ExactGaussNewton, K: Float64Array, P: number, lambda: ArrayLike<number>, damping: number): Float64Array {
  const rot = (g: Float64Array) =>
    Float64Array.from({ length: P }, (_, a) => {
      let s = 0;
      for (let k = 0; k < P; k++) s += K[a * P + k] * g[k];
      return s;
    });
  const rd = gn.documentGradients.map(rot);
  const D = rd.length;
  const out = new Float64Array(gn.queryGradients.length * D);
  gn.queryGradients.forEach((gq, q) => {
    const rq = rot(gq);
    rd.forEach((r, d) => {
      let s = 0;
      for (let a = 0; a < P; a++) s += (rq[a] * r[a]) / (lambda[a] + damping);
      out[q * D + d] = s;
    });
  });
  return out;
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return s;
}

function compare(fisher: FisherMode, gn: ExactGaussNewton) {
  const run = engine[fisher];
  const reference = influenceFrom(gn, run.damping);
  const candidates: Record<'identity' | 'kfac' | 'ekfac', ArrayLike<number>> = {
    identity: gradientDots(gn),
    kfac: run.scores.kfac,
    ekfac: run.scores.ekfac,
  };
  const stats = {} as Record<keyof typeof candidates, { pearson: number; spearman: number }>;
  for (const [name, s] of Object.entries(candidates) as [keyof typeof candidates, ArrayLike<number>][]) {
    stats[name] = { pearson: pearson(s, reference), spearman: spearman(s, reference) };
    console.log(`# ${fisher}: ${name.padEnd(8)} vs exact: Pearson ${stats[name].pearson.toFixed(4)}, Spearman ${stats[name].spearman.toFixed(4)}`);
  }

  // Diagnostics: how diagonal the exact curvature is in the engine's eigenbasis, and EK-FAC with Λ
  // taken exactly from that curvature (no sampling noise), to separate the approximation from the estimate.
  const ek = run.factors.ekfac;
  const { K, P } = kroneckerBasis(ek);
  const R = rotated(gn.G, K, P);
  const exactLambda = diagonalOf(R, P);
  const exactLambdaScores = ekfacFrom(gn, K, P, exactLambda, run.damping);
  let trace = 0;
  for (let a = 0; a < P; a++) trace += gn.G[a * P + a];
  console.log(
    `# ${fisher}: λ ${run.damping.toExponential(3)}; ΣΛ_engine / tr G ${(sum(ek.lambda!) / trace).toFixed(4)}; ` +
      `corr(Λ_engine, diag KGKᵀ) ${pearson(ek.lambda!, exactLambda).toFixed(4)}; off-diagonal share of KGKᵀ ${offDiagonalShare(R, P).toFixed(3)}; ` +
      `mean Λ kfac / ekfac ${(sum(run.factors.kfac.lambda!) / sum(ek.lambda!)).toFixed(4)}`,
  );
  // K-FAC's Λ = e_S e_Aᵀ is on the per-token scale (A, S are token averages) while EK-FAC's Λ is per
  // document, so the shared λ damps K-FAC ~(tokens per document)× more: show K-FAC at its own scale too.
  console.log(
    `# ${fisher}: kfac with its own default λ ${run.kfacOwn.damping.toExponential(3)} vs exact: ` +
      `Pearson ${pearson(run.kfacOwn.scores, reference).toFixed(4)}, Spearman ${spearman(run.kfacOwn.scores, reference).toFixed(4)}`,
  );
  console.log(
    `# ${fisher}: EK-FAC with Λ = diag(KGKᵀ) vs exact: Pearson ${pearson(exactLambdaScores, reference).toFixed(4)}, ` +
      `Spearman ${spearman(exactLambdaScores, reference).toFixed(4)}`,
  );
  return { stats, exactLambda };
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

test('finite-difference Jacobians are converged (step 1e-4 vs 1e-3 agree to O(h²))', () => {
  const tokens = documents[0];
  const fine = logitJacobians(model.checkpoint, MODULE, tokens, { step: 1e-4 });
  const coarse = logitJacobians(model.checkpoint, MODULE, tokens, { step: 1e-3 });
  let worst = 0;
  for (let t = 0; t < tokens.length; t++) worst = Math.max(worst, relativeError(coarse.J[t], fine.J[t]));
  console.log(`# finite differences: max relative change of J between steps 1e-3 and 1e-4: ${worst.toExponential(2)}`);
  assert.ok(worst < 1e-5, `J changes by ${worst} between steps: not converged`);
});

test("engine identity scores equal the exact gradients' dot products", { timeout: 120_000 }, async () => {
  const dir = tmp();
  await fit(setup('sampled'), 'identity', dir);
  const out = await score(setup('sampled'), dir, queryRecords(QUERIES));
  const err = relativeError(out.scores, gradientDots(exact));
  console.log(`# identity: engine vs exact gradient dot products, relative error ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `identity relative error ${err}`);
});

test('empirical Fisher: the engine eigenvalue correction equals the exact rotated diagonal', () => {
  // With actual labels G_d is deterministic, so Λ = (1/N) Σ_d (Q_Sᵀ G_d Q_A)² = diag(K G_emp Kᵀ) exactly.
  const ek = engine.empirical.factors.ekfac;
  const { K, P } = kroneckerBasis(ek);
  const expected = diagonalOf(rotated(withEmpiricalFisher(exact).G, K, P), P);
  const err = relativeError(ek.lambda!, expected);
  console.log(`# empirical: engine Λ vs diag(K G_emp Kᵀ), relative error ${err.toExponential(2)}`);
  assert.ok(err < 1e-4, `Λ relative error ${err}`);
});

test('sampled Fisher: EK-FAC tracks exact Gauss-Newton influence best, Pearson ≥ 0.9', () => {
  const { stats } = compare('sampled', exact);
  // Λ from one label draw per token is an unbiased estimate of diag(K G Kᵀ): its total must be close.
  let trace = 0;
  for (let a = 0; a < exact.params; a++) trace += exact.G[a * exact.params + a];
  const ratio = sum(engine.sampled.factors.ekfac.lambda!) / trace;
  assert.ok(Math.abs(ratio - 1) < 0.15, `ΣΛ / tr G = ${ratio}`);
  assert.ok(stats.ekfac.pearson >= 0.9, `ekfac Pearson ${stats.ekfac.pearson} < 0.9`);
  for (const other of ['identity', 'kfac'] as const) {
    assert.ok(stats.ekfac.pearson > stats[other].pearson, `ekfac Pearson ${stats.ekfac.pearson} ≤ ${other} ${stats[other].pearson}`);
    assert.ok(stats.ekfac.spearman > stats[other].spearman, `ekfac Spearman ${stats.ekfac.spearman} ≤ ${other} ${stats[other].spearman}`);
  }
});

test('empirical Fisher: correlations with exact empirical-Fisher influence (reported; EK-FAC beats identity)', () => {
  const { stats } = compare('empirical', withEmpiricalFisher(exact));
  assert.ok(stats.ekfac.pearson > stats.identity.pearson, `ekfac Pearson ${stats.ekfac.pearson} ≤ identity ${stats.identity.pearson}`);
  assert.ok(stats.ekfac.spearman > stats.identity.spearman, `ekfac Spearman ${stats.ekfac.spearman} ≤ identity ${stats.identity.spearman}`);
});
