/**
 * The compute threads' preconditioning of a batch of query gradients (score/reductions.ts, float32 on the
 * device) against the float64 host reference (ekfac/strategies.ts precondition), for every strategy's form:
 * in the eigenbases, diagonal, and none.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../server/src/engine/device/backend';
import { inverseDamped, precondition } from '../../server/src/engine/ekfac/strategies';
import type { ModuleFactors, Strategy } from '../../server/src/engine/ekfac/types';
import { symmetricEigen } from '../../server/src/engine/linalg/eigh';
import { preconditionedGradients } from '../../server/src/engine/score/reductions';
import { tf, type Tensor2D, type Tensor3D } from '../../server/src/engine/tf';
import { Rng } from '../../server/src/engine/util/random';

const rng = new Rng(11);
const [OUT, IN, Q] = [6, 9, 5];

function eigenbasis(n: number): { Q: Float64Array; e: Float64Array } {
  const X = Float64Array.from({ length: n * 2 * n }, () => rng.normal());
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < 2 * n; k++) M[i * n + j] += X[i * 2 * n + k] * X[j * 2 * n + k];
  const { vectors, values } = symmetricEigen(M, n);
  return { Q: vectors, e: values };
}

before(async () => {
  await initBackend('wasm');
});

for (const strategy of ['ekfac', 'diagonal', 'identity'] as Strategy[])
  test(`a batch of ${Q} queries preconditioned on the device equals the float64 reference (${strategy})`, () => {
    const S = eigenbasis(OUT);
    const A = eigenbasis(IN);
    const f: ModuleFactors = {
      name: 'm',
      outDim: OUT,
      inDim: IN,
      eigen: { name: 'm', outDim: OUT, inDim: IN, QS: S.Q, eS: S.e, QA: A.Q, eA: A.e },
      lambda: strategy === 'identity' ? undefined : Float64Array.from({ length: OUT * IN }, () => Math.exp(3 * rng.normal())),
    };
    const lambda = 0.1;
    const G = Array.from({ length: Q }, () => Float64Array.from({ length: OUT * IN }, () => rng.normal()));
    const rotate = strategy === 'ekfac';
    const invDamped = Float32Array.from(inverseDamped(f, strategy, lambda, OUT * IN));
    const got = tf.tidy(() => {
      const module = rotate
        ? {
            QA: tf.tensor2d(Float32Array.from(A.Q), [IN, IN]),
            QS: tf.tensor2d(Float32Array.from(S.Q), [OUT, OUT]),
            inverseDamped: tf.transpose(tf.tensor2d(invDamped, [OUT, IN])) as Tensor2D,
          }
        : { inverseDamped: tf.tensor2d(invDamped, [OUT, IN]) };
      const batch = tf.tensor3d(Float32Array.from(G.flatMap((g) => Array.from(g))), [Q, OUT, IN]) as Tensor3D;
      return preconditionedGradients(batch, module).dataSync().slice();
    });
    assert.equal(got.length, Q * OUT * IN);
    G.forEach((g, q) => {
      const want = precondition(g, f, strategy, lambda);
      const scale = Math.max(...Array.from(want, Math.abs));
      for (let k = 0; k < OUT * IN; k++)
        assert.ok(Math.abs(got[q * OUT * IN + k] - want[k]) <= 1e-5 * scale, `query ${q} entry ${k}: ${got[q * OUT * IN + k]} against ${want[k]}`);
    });
    if (strategy === 'ekfac')
      assert.ok(
        G.some((g, q) => Math.abs(got[q * OUT * IN] - g[0]) > 1e-3),
        'the preconditioner changed nothing: the test is not measuring',
      );
  });
