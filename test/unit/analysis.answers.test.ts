/**
 * Analysis 4 (answers in the top documents): word-boundary, case-insensitive matching with exact
 * numbers; a planted answer in a top document is found at its rank, one outside the top k is not;
 * step answers; hit rates per kind (all and correct completions).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { answerAnalysis, answerLadder, containsAnswer, type AnswerQueryInput } from '../../server/src/engine/analysis/answers';
import { topK } from '../../server/src/engine/util/topK';

test('containsAnswer: words on boundaries, any case', () => {
  assert.ok(containsAnswer('The capital of France is paris.', 'Paris'));
  assert.ok(!containsAnswer('A Parisian cafe.', 'Paris'));
  assert.ok(containsAnswer('in New\n  Delhi today', 'new delhi'));
  assert.ok(!containsAnswer('NewDelhi', 'New Delhi'));
  assert.ok(containsAnswer('I like C++ a lot', 'C++'));
  assert.ok(containsAnswer('(Tokyo)', 'Tokyo'));
  assert.ok(containsAnswer('Zürich!', 'zürich'));
  assert.ok(!containsAnswer('Zürichsee', 'Zürich'));
  assert.ok(!containsAnswer('anything', '   '));
});

test('containsAnswer: numbers match exactly', () => {
  const yes = ['= 21.', '21', 'answer: 21, done', 'so 5-21 is', '(21)', 'x=21'];
  const no = ['210', '121', '2.1', '21.5', '1/21', '21/4', 'x21', '21st', 'it is -21', '−21', '= -21'];
  for (const t of yes) assert.ok(containsAnswer(t, '21'), `"21" in "${t}"`);
  for (const t of no) assert.ok(!containsAnswer(t, '21'), `"21" not in "${t}"`);
  assert.ok(containsAnswer('the slope is -3.', '-3'));
  assert.ok(containsAnswer('the slope is −3', '-3'));
  assert.ok(containsAnswer('-3', '-3'));
  assert.ok(!containsAnswer('5-3 = 2', '-3'));
  assert.ok(!containsAnswer('is -30', '-3'));
  assert.ok(containsAnswer('m = 2.5', '2.5'));
  assert.ok(!containsAnswer('m = 2.50', '2.5'));
  assert.ok(!containsAnswer('m = 12.5', '2.5'));
  assert.ok(containsAnswer('x = 3/4', '3/4'));
  assert.ok(!containsAnswer('x = 3/45', '3/4'));
  assert.ok(containsAnswer('+7 and', '+7') && containsAnswer('got 7', '+7'));
});

test('answerLadder scales to N', () => {
  assert.deepEqual(answerLadder(20000), [10, 50, 200, 500, 1000]);
  assert.deepEqual(answerLadder(300), [3, 10, 15, 50, 300]);
  assert.deepEqual(answerLadder(20), [1, 10, 20]);
  assert.deepEqual(answerLadder(0), []);
});

test('answerAnalysis: a planted answer in a top document is found; one outside the top k is not', () => {
  const N = 20;
  const texts = Array.from({ length: N }, (_, d) => `document ${d} about nothing in particular`);
  // Scores: document d scores N − d for query 0 (rank = d + 1) and d for query 1 (rank = N − d).
  const rows = [Array.from({ length: N }, (_, d) => N - d), Array.from({ length: N }, (_, d) => d), Array.from({ length: N }, (_, d) => N - d)];
  texts[1] = 'The capital of France is Paris.'; // rank 2 for q0, rank 19 for q1
  texts[14] = 'Then 3 * 7 = 21, so the answer is 21.'; // rank 15 for q0, rank 6 for q1
  texts[3] = 'First 7 - 4 = 3.'; // step answer 3: rank 4 for q0
  const queries: AnswerQueryInput[] = [
    { id: 'q0', kind: 'factual', task: 'capitals', answer: 'Paris', completion: ' Paris' },
    { id: 'q1', kind: 'reasoning', task: 'arithmetic', answer: '21', completion: ' (7 - 4) * 7 = 3 * 7 = 20', steps: ['3'] },
    { id: 'q2', kind: 'reasoning', task: 'arithmetic', answer: '21', completion: '21' },
    { id: 'q3', kind: 'control', task: null, answer: null, completion: 'whatever' },
  ];
  const top = [...rows, rows[0]].map((r) => topK(r, 10));
  const rep = answerAnalysis(queries, top, (d) => texts[d], [1, 2, 5, 10]);
  assert.deepEqual(rep.ks, [1, 2, 5, 10]);
  assert.equal(rep.perQuery.length, 3, 'queries without an answer are left out');
  const [q0, q1, q2] = rep.perQuery;
  assert.deepEqual(q0.hit, [false, true, true, true]);
  assert.equal(q0.firstRank, 2);
  assert.deepEqual(q0.ranks, [2]);
  assert.equal(q0.completionHasAnswer, true);
  assert.deepEqual(q1.hit, [false, false, false, true]);
  assert.equal(q1.firstRank, 6);
  assert.equal(q1.completionHasAnswer, false);
  // Step "3": document 3 is rank 17 for q1, but "3 * 7" in document 14 (rank 6) counts.
  assert.deepEqual(q1.steps, [{ step: '3', hit: [false, false, false, true], firstRank: 6 }]);
  // q2 ranks like q0: "21" sits at rank 15, outside the top 10.
  assert.deepEqual(q2.hit, [false, false, false, false]);
  assert.equal(q2.firstRank, null);
  assert.equal(q2.occurrences, 0);
  assert.deepEqual(rep.byKind.factual.hitRate, [0, 1, 1, 1]);
  assert.deepEqual(rep.byKind.reasoning.hits, [0, 0, 0, 1]);
  assert.deepEqual(rep.byKind.reasoning.hitRate, [0, 0, 0, 0.5]);
  assert.equal(rep.byKind.reasoning.correct, 1);
  assert.deepEqual(rep.byKind.reasoning.hitRateCorrect, [0, 0, 0, 0]);
  assert.deepEqual(rep.byKind.reasoning.steps, { steps: 1, hitRate: [0, 0, 0, 1] });
  assert.equal(rep.byKind.control, undefined);
  assert.deepEqual(rep.byTask['factual/capitals'].hitRate, [0, 1, 1, 1]);
  assert.equal(rep.missingTexts, 0);

  // Step answers found in q0's ranking (document 3 at rank 4); missing texts are counted.
  const withSteps = answerAnalysis([{ ...queries[0], steps: ['3'] }], [top[0]], (d) => (d === 9 ? undefined : texts[d]), [5, 10]);
  assert.deepEqual(withSteps.perQuery[0].steps, [{ step: '3', hit: [true, true], firstRank: 4 }]);
  assert.equal(withSteps.missingTexts, 1);
});
