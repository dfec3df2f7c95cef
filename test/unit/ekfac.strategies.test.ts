import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inverseDamped, precondition, STRATEGY_SPECS } from '../../server/src/engine/ekfac/strategies';
import { stagesFor } from '../../server/src/engine/ekfac/store';
import { STAGES, STRATEGIES, type ModuleFactors } from '../../server/src/engine/ekfac/types';

const rotation = (t: number) => Float64Array.from([Math.cos(t), -Math.sin(t), Math.sin(t), Math.cos(t)]);

// A 2×2 module with non-trivial eigenbases (eigenvectors as columns, row-major).
const QA = rotation(0.4);
const QS = rotation(-1.1);
const factors: ModuleFactors = {
  name: 'm',
  inDim: 2,
  outDim: 2,
  eigen: { name: 'm', inDim: 2, outDim: 2, QA, eA: Float64Array.from([2, 1]), QS, eS: Float64Array.from([3, 1]) },
  lambda: Float64Array.from([4, 0.5, 2, 0.25]),
};
const G = Float64Array.from([1, -2, 0.5, 3]);
const damping = 0.1;

/** F·vec(P) with F = Σ (Λ_oi + λ) v v ᵀ, v = vec(QS[:,o] QA[:,i]ᵀ): the damped Fisher the preconditioner inverts. */
function fisherTimes(P: Float64Array): Float64Array {
  const out = new Float64Array(4);
  for (let o = 0; o < 2; o++)
    for (let i = 0; i < 2; i++) {
      const v = [0, 1].flatMap((r) => [0, 1].map((c) => QS[r * 2 + o] * QA[c * 2 + i]));
      const dot = v.reduce((s, x, k) => s + x * P[k], 0);
      for (let k = 0; k < 4; k++) out[k] += (factors.lambda![o * 2 + i] + damping) * v[k] * dot;
    }
  return out;
}

const close = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).forEach((x, i) => assert.ok(Math.abs(x - b[i]) < 1e-12, `${x} ≠ ${b[i]} at ${i}`));

test('ekfac and kfac precondition in the eigenbases: the damped Fisher maps the result back to G', () => {
  for (const s of ['ekfac', 'kfac'] as const) close(fisherTimes(precondition(G, factors, s, damping)), G);
});

test('diagonal divides by Λ + λ elementwise; identity leaves G as is and has unit self-influence weights', () => {
  close(precondition(G, factors, 'diagonal', damping), [1 / 4.1, -2 / 0.6, 0.5 / 2.1, 3 / 0.35]);
  assert.equal(precondition(G, factors, 'identity', damping), G);
  close(inverseDamped(factors, 'identity', damping, 4), [1, 1, 1, 1]);
  close(inverseDamped(factors, 'ekfac', damping, 4), [1 / 4.1, 1 / 0.6, 1 / 2.1, 1 / 0.35]);
});

test('each strategy fits its stages in order, and only those with an eigen stage have eigenbases', () => {
  assert.deepEqual(stagesFor('ekfac'), ['covariance', 'eigen', 'lambda']);
  assert.deepEqual(stagesFor('kfac'), ['covariance', 'eigen']);
  assert.deepEqual(stagesFor('diagonal'), ['lambda']);
  assert.deepEqual(stagesFor('identity'), []);
  for (const s of STRATEGIES) {
    const spec = STRATEGY_SPECS[s];
    assert.deepEqual(
      spec.stages,
      STAGES.filter((st) => spec.stages.includes(st)),
      `${s}: stages in order`,
    );
    assert.equal(spec.eigenbases, spec.stages.includes('eigen'), s);
    assert.equal(spec.lambdaInEigenbases, spec.eigenbases && spec.stages.includes('lambda'), s);
  }
});
