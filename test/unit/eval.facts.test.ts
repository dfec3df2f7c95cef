import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bm25Scores, type Attributions } from '../../server/src/engine/eval/attribute';
import { completionCorrect, factTracing } from '../../server/src/engine/eval/facts';
import { parseLabels } from '../../server/src/engine/eval/labels';
import { poissonBinomialTail, randomHitProbability, randomMultiplierSpread } from '../../server/src/engine/analysis/findings';
import type { PreparedQuery } from '../../server/src/engine/score/queries';
import { Rng } from '../../server/src/engine/util/random';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('BM25 is Okapi BM25 (k1 1.2, b 0.75, Lucene idf) summed over query terms; no query word scores 0', () => {
  const docs = ['paris is the capital of france', 'berlin is the capital of germany', 'the cat sat on the mat'];
  const s = bm25Scores(docs, ['capital of France?']);
  const N = 3;
  // MiniSearch measures a document's length in distinct terms ("the" counts once in the third).
  const avg = (6 + 6 + 5) / 3;
  const idf = (n: number) => Math.log(1 + (N - n + 0.5) / (n + 0.5));
  const term = (tf: number, len: number, n: number) => idf(n) * ((tf * 2.2) / (tf + 1.2 * (1 - 0.75 + (0.75 * len) / avg)));
  close(s[0], term(1, 6, 2) + term(1, 6, 2) + term(1, 6, 1), 1e-5); // capital, of, france
  close(s[1], term(1, 6, 2) + term(1, 6, 2), 1e-5);
  assert.equal(s[2], 0);
});

test('fact tracing: the labels as scores (an oracle) get MRR 1 and recall 1; reversed, the worst; correctness split', () => {
  const labels = parseLabels(
    [
      { document: 'a', facts: [{ subject: 'France', relation: 'capital', value: 'Paris' }], procedures: [] },
      { document: 'b', facts: [], procedures: [{ task: 'slopes', form: 'code', steps: true, worked: true }] },
      { document: 'c', facts: [{ subject: 'France', relation: 'capital', value: 'Paris' }], procedures: [] },
      {
        document: 'd',
        facts: [{ subject: 'Peru', relation: 'capital', value: 'Lima' }],
        procedures: [{ task: 'slopes', form: 'math', steps: true, worked: true }],
      },
      { query: 'q-fr', fact: { subject: 'France', relation: 'capital', value: 'Paris' } },
      { query: 'q-pe', fact: { subject: 'Peru', relation: 'capital', value: 'Lima' } },
      { query: 'q-sl', procedure: 'slopes' },
    ]
      .map((x) => JSON.stringify(x))
      .join('\n'),
    'labels.jsonl',
  );
  const q = (id: string, kind: 'factual' | 'reasoning', completion: string, answer: string) =>
    ({ record: { id, kind, prompt: 'p', answer, file: 'f', line: 1 }, completion, generated: true, promptTokens: [], completionTokens: [] }) as PreparedQuery;
  const queries = [q('q-fr', 'factual', ' Paris\nmore', 'Paris'), q('q-pe', 'factual', ' Quito', 'Lima'), q('q-sl', 'reasoning', ' 3', '3')];
  // Four labelled documents, then 16 without labels (so that a top 10 is not the whole corpus).
  const ids = ['a', 'b', 'c', 'd', ...Array.from({ length: 16 }, (_, i) => `e${i}`)];
  const documents = ids.map((id, index) => ({ index, id, source: 'x' }));
  // Oracle rows: 1 for a document that states the query's fact / shows its procedure in code.
  const row = (ones: number[]) => ids.map((_, d) => (ones.includes(d) ? 1 : 0));
  const oracle = Float32Array.from([...row([0, 2]), ...row([3]), ...row([1])]);
  const reversed = oracle.map((x) => -x);
  const a: Attributions = {
    documents,
    scores: new Map([
      ['random', oracle],
      ['bm25', reversed],
    ]),
    seconds: new Map(),
    cached: [],
  };
  const r = factTracing(a, queries, labels);
  assert.equal(r.factual.queries, 2);
  assert.equal(r.factual.correct, 1);
  const [o, w] = r.methods;
  close(o.all.mrr.mean, 1);
  close(o.all.recall[0].mean, 1);
  close(o.correct.mrr.mean, 1);
  assert.equal(o.incorrect.queries, 1);
  // Reversed: France's two relevant documents rank 19–20 (first at 19), Peru's one ranks 20.
  close(w.all.mrr.mean, (1 / 19 + 1 / 20) / 2);
  close(w.all.recall[0].mean, 0);
  // Procedures: the code document is in the oracle's top 10, share 1/10 over a corpus share of 1/20 → ×2;
  // the reversed ranking puts it last (×0); the math document ties with 18 others below the top document.
  close(o.procedures.code[0].mean, 2);
  close(w.procedures.code[0].mean, 0);
  close(r.reasoning.share.slopes.code, 1 / 20);
});

test('a completion is correct when its first line gives the answer', () => {
  assert.equal(completionCorrect(' Paris.\nQ: next', 'Paris'), true);
  assert.equal(completionCorrect(' Lyon\nParis', 'Paris'), false);
  assert.equal(completionCorrect(' Parisian', 'Paris'), false);
});

test('findings base rates: random hit probability, Poisson binomial tail, random multiplier spread', () => {
  // 2 of 5 documents contain the answer; 2 random documents miss both with (3/5)(2/4) = 0.3.
  close(randomHitProbability(5, 2, 2), 0.7);
  close(randomHitProbability(5, 0, 2), 0);
  close(randomHitProbability(5, 4, 2), 1);
  // Two queries with p = 0.5 and 0.2: P(X ≥ 1) = 1 − 0.5·0.8 = 0.6; P(X ≥ 2) = 0.1.
  close(poissonBinomialTail([0.5, 0.2], 1), 0.6);
  close(poissonBinomialTail([0.5, 0.2], 2), 0.1);
  close(poissonBinomialTail([0.5, 0.2], 0), 1);
  // Random top-k draws average a multiplier of 1; an observed ×3 for a 10% source is far outside.
  const s = randomMultiplierSpread(1000, 100, 50, 20, 3, 500, new Rng(1, 2));
  assert.ok(s.lo < 1 && s.hi > 1 && s.hi < 1.5, `${s.lo}–${s.hi}`);
  assert.ok(s.p < 0.01);
});
