/**
 * The rescoring tier's low-rank kernel (lowRank.wat) against a float64 reference over the same unpacked
 * int8 factors: whole rows (two groups of factors) and prefixes, a module wider than one int32 chunk of the
 * kernel (1,024 values), dimensions off its blocks of 8, and a query rank off its groups of 4.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { packRescoreRow, rescoreSettings, unpackRescoreRow, type RescoreSettings } from '../../server/src/engine/gradindex/rescore/layout';
import { lowRankScores, quantizeQueryModule } from '../../server/src/engine/gradindex/rescore/kernel/lowRankKernel';
import { LOW_RANK_WASM_BASE64 } from '../../server/src/engine/gradindex/rescore/kernel/lowRankWasm';
import { Rng } from '../../server/src/engine/util/random';

const rng = new Rng(11);
const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

test('the committed low-rank kernel is compiled from lowRank.wat', async () => {
  // @ts-expect-error: a plain ES module script, no types
  const { compileKernel } = (await import('../../scripts/build-kernel.mjs')) as { compileKernel: (name: string) => Promise<Buffer> };
  assert.equal((await compileKernel('lowRank')).toString('base64'), LOW_RANK_WASM_BASE64);
});

/** Σ_m Σ_k (x_kᵀ B_m)(v_kᵀ A_m) over the row's unpacked factors, in float64, and the same with |·| for a scale. */
function reference(row: Uint8Array, s: RescoreSettings, B: Float64Array[], A: Float64Array[], q: number): [number, number] {
  const f = unpackRescoreRow(row, s);
  let sum = 0;
  let abs = 0;
  s.shapes.forEach(([outDim, inDim], m) => {
    const k0 = f[m].X.length / outDim;
    for (let k = 0; k < k0; k++)
      for (let i = 0; i < q; i++) {
        let u = 0;
        let w = 0;
        for (let o = 0; o < outDim; o++) u += f[m].X[o * k0 + k] * B[m][o * q + i];
        for (let p = 0; p < inDim; p++) w += f[m].V[p * k0 + k] * A[m][p * q + i];
        sum += u * w;
        abs += Math.abs(u * w);
      }
  });
  return [sum, abs];
}

test('low-rank scores of packed rows equal a float64 reference', () => {
  const shapes: [number, number][] = [
    [20, 1_100],
    [9, 13],
    [16, 8],
  ];
  const s = rescoreSettings(12, 3, shapes);
  const rows = Array.from({ length: 7 }, () =>
    packRescoreRow(
      shapes.map(([o, i]) => ({ Xt: randn(s.rank * o), Vt: randn(s.rank * i) })),
      s,
    ),
  );
  for (const q of [5, 8]) {
    const B = shapes.map(([o]) => randn(o * q));
    const A = shapes.map(([, i]) => randn(i * q));
    const query = shapes.map(([o, i], m) => quantizeQueryModule(B[m], A[m], o, i, q));
    for (const part of [rows, rows.map((r) => r.subarray(0, s.prefixBytes))]) {
      const got = lowRankScores(part, s, query);
      part.forEach((row, c) => {
        const [want, scale] = reference(row, s, B, A, q);
        assert.ok(Math.abs(got[c] - want) <= 1e-4 * scale, `rank ${q}, row ${c} (${row.byteLength} bytes): ${got[c]} vs ${want} (scale ${scale})`);
      });
    }
  }
});
