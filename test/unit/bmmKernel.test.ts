/**
 * The batched small-product kernel (model/kernel/bmm.wat) against a float64 reference, on shapes whose rows
 * and columns are and are not multiples of its 4 × 4 blocks; its Gram matrices (upper triangle computed,
 * mirrored) likewise; and the committed bytes are what bmm.wat compiles to.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smallBatchMatMul, symmetricGram } from '../../server/src/engine/model/kernel/bmmKernel';
import { BMM_WASM_BASE64 } from '../../server/src/engine/model/kernel/bmmWasm';
import { Rng } from '../../server/src/engine/util/random';

test('the committed kernel bytes are what bmm.wat compiles to', async () => {
  // @ts-expect-error: a plain ES module script, no types
  const { compileKernel } = (await import('../../scripts/build-kernel.mjs')) as { compileKernel: (name: string) => Promise<Buffer> };
  assert.equal((await compileKernel('bmm')).toString('base64'), BMM_WASM_BASE64);
});

test('c[z] = a[z] · b[z] for every slice, equal to a float64 reference within float32 rounding', () => {
  const rng = new Rng(7, 1);
  const shapes: [number, number, number, number][] = [
    [1, 1, 1, 1],
    [3, 5, 7, 9],
    [2, 4, 8, 4],
    [4, 13, 8, 30],
    [64, 17, 8, 17],
    [2, 9, 33, 6],
    [5, 32, 1, 3],
  ];
  for (const [Z, M, K, N] of shapes) {
    const a = Float32Array.from({ length: Z * M * K }, () => rng.normal());
    const b = Float32Array.from({ length: Z * K * N }, () => rng.normal());
    const c = smallBatchMatMul(a, b, Z, M, K, N).slice();
    assert.equal(c.length, Z * M * N);
    for (let z = 0; z < Z; z++)
      for (let i = 0; i < M; i++)
        for (let n = 0; n < N; n++) {
          let want = 0;
          let scale = 0;
          for (let k = 0; k < K; k++) {
            want += a[(z * M + i) * K + k] * b[(z * K + k) * N + n];
            scale += Math.abs(a[(z * M + i) * K + k] * b[(z * K + k) * N + n]);
          }
          const got = c[(z * M + i) * N + n];
          assert.ok(Math.abs(got - want) <= 1e-6 * (scale + 1), `[${Z},${M},${K},${N}] at (${z},${i},${n}): ${got} against ${want}`);
        }
  }
});

test('a later call does not change an earlier result once copied, and a larger product grows the memory', () => {
  const first = smallBatchMatMul(Float32Array.of(1, 2, 3, 4), Float32Array.of(1, 0, 0, 1), 1, 2, 2, 2).slice();
  const big = 300;
  const ones = new Float32Array(4 * big * big).fill(1);
  const second = smallBatchMatMul(ones, ones, 4, big, big, big);
  assert.deepEqual([...first], [1, 2, 3, 4]);
  assert.equal(second[0], big);
  assert.equal(second[second.length - 1], big);
});

test('xᵀx from the upper triangle equals a float64 reference everywhere, mirrored exactly, for widths in and off its 4 × 8 blocks', () => {
  const rng = new Rng(7, 2);
  for (const [K, N] of [
    [1, 1],
    [5, 3],
    [9, 8],
    [33, 13],
    [17, 40],
    [64, 67],
    [3, 130],
  ]) {
    const x = Float32Array.from({ length: K * N }, () => rng.normal());
    const c = symmetricGram(x, K, N);
    assert.equal(c.length, N * N);
    for (let i = 0; i < N; i++)
      for (let j = 0; j < N; j++) {
        let want = 0;
        let scale = 0;
        for (let k = 0; k < K; k++) {
          want += x[k * N + i] * x[k * N + j];
          scale += Math.abs(x[k * N + i] * x[k * N + j]);
        }
        assert.ok(Math.abs(c[i * N + j] - want) <= 1e-6 * (scale + 1), `[${K},${N}] at (${i},${j}): ${c[i * N + j]} against ${want}`);
        assert.equal(c[i * N + j], c[j * N + i], `[${K},${N}]: (${i},${j}) mirrors (${j},${i})`);
      }
  }
});
