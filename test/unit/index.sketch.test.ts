/**
 * Index sketches on small random cases, through the engine's own device code (DeviceSketch) and query
 * finishing: the random sketches' inner products are unbiased estimates of the exact preconditioned
 * inner product Σ R_q R_d / (Λ + λ) (their mean over seeds within four standard errors, each seed off it);
 * the eigen sketch is that product restricted to its subspace, and exact with the whole eigenbasis.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { initBackend } from '../../server/src/engine/device/backend';
import { download } from '../../server/src/engine/device/readback';
import type { DeviceCaptures } from '../../server/src/engine/capture/deviceCaptures';
import type { ModuleFactors } from '../../server/src/engine/ekfac/types';
import { symmetricEigen } from '../../server/src/engine/linalg/eigh';
import { sketchBasis } from '../../server/src/engine/gradindex/projection';
import { queryFinish } from '../../server/src/engine/gradindex/queryVectors';
import { DeviceSketch } from '../../server/src/engine/gradindex/reductions';
import { parseSketch, rowLayout, sketchModules } from '../../server/src/engine/gradindex/sketch';
import { tf } from '../../server/src/engine/tf';
import { Rng } from '../../server/src/engine/util/random';

const SHAPES: [number, number][] = [
  [6, 5],
  [4, 7],
];
const L = 9;
const rng = new Rng(11);

/** A random covariance's eigendecomposition, eigenvalues spread over two decades. */
function randomEigen(n: number): { Q: Float64Array; e: Float64Array } {
  const X = Float64Array.from({ length: n * 3 * n }, () => rng.normal());
  const M = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let k = 0; k < 3 * n; k++) M[i * n + j] += X[i * 3 * n + k] * X[j * 3 * n + k] * 10 ** (-(k % n) / n);
  const { values, vectors } = symmetricEigen(M, n);
  return { Q: vectors, e: values };
}

const factors: ModuleFactors[] = SHAPES.map(([outDim, inDim], m) => {
  const A = randomEigen(inDim);
  const S = randomEigen(outDim);
  const lambda = Float64Array.from({ length: outDim * inDim }, () => Math.exp(2 * rng.normal()));
  return { name: `m${m}`, outDim, inDim, lambda, eigen: { name: `m${m}`, inDim, outDim, QA: A.Q, eA: A.e, QS: S.Q, eS: S.e } };
});
const damping = factors.map((f) => (0.1 * f.lambda!.reduce((a, b) => a + b)) / f.lambda!.length);
const tokens = () =>
  factors.map((f) => ({
    a: Float32Array.from({ length: L * f.inDim }, () => rng.normal()),
    g: Float32Array.from({ length: L * f.outDim }, () => rng.normal()),
  }));
const doc = tokens();
// A query close to the document: their product is then large against the sketches' spread, so that the
// seeds' mean pins a bias down to a few percent.
const query = doc.map((t) => ({ a: t.a.map((x) => x + 0.3 * rng.normal()), g: t.g.map((x) => x + 0.3 * rng.normal()) }));

/** R = Q_Sᵀ (Σ_t g_t a_tᵀ) Q_A, [out × in] row-major, float64. */
function rotated(f: ModuleFactors, t: { a: Float32Array; g: Float32Array }): Float64Array {
  const { outDim: O, inDim: I } = f;
  const { QA, QS } = f.eigen!;
  const G = new Float64Array(O * I);
  for (let l = 0; l < L; l++) for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) G[o * I + i] += t.g[l * O + o] * t.a[l * I + i];
  const R = new Float64Array(O * I);
  for (let s = 0; s < O; s++)
    for (let a = 0; a < I; a++) for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) R[s * I + a] += QS[o * O + s] * G[o * I + i] * QA[i * I + a];
  return R;
}

/** Σ over modules and the entries `keep` allows of R_q R_d / (Λ + λ). */
function exactProduct(keep: (m: number, s: number, a: number) => boolean = () => true): number {
  let total = 0;
  factors.forEach((f, m) => {
    const Rq = rotated(f, query[m]);
    const Rd = rotated(f, doc[m]);
    for (let s = 0; s < f.outDim; s++)
      for (let a = 0; a < f.inDim; a++) if (keep(m, s, a)) total += (Rq[s * f.inDim + a] * Rd[s * f.inDim + a]) / (f.lambda![s * f.inDim + a] + damping[m]);
  });
  return total;
}

function captures(t: { a: Float32Array; g: Float32Array }[]): DeviceCaptures {
  return {
    B: 1,
    L,
    tokenCounts: [L],
    rowMask: new Float32Array(L).fill(1),
    targetMask: new Float32Array(L).fill(1),
    tokenLosses: tf.zeros([L]),
    labels: tf.zeros([L], 'int32'),
    modules: factors.map((f, m) => ({
      module: { name: f.name, weight: '', inDim: f.inDim, outDim: f.outDim },
      a: tf.tensor2d(t[m].a, [L, f.inDim]),
      g: tf.tensor2d(t[m].g, [L, f.outDim]),
    })),
  };
}

/** ⟨query sketch, document sketch⟩ for one sketch and seed, in float (no int8 storage). */
async function sketchProduct(text: string, seed: number): Promise<number> {
  const choice = parseSketch(text);
  const modules = sketchModules(choice, factors);
  const manifest = { sketch: { ...choice, seed, maxLen: L }, modules, rows: rowLayout(choice, modules) };
  const messages = factors.map((f, m) => sketchBasis(f, modules[m], m, manifest.sketch, damping[m]));
  const device = new DeviceSketch(messages);
  const [d, q] = [captures(doc), captures(query)];
  try {
    const rows = (await download(device.rows(d))).values;
    const sketched = queryFinish(manifest, factors, messages, damping).finish(await download(device.queries(q)));
    assert.equal(rows.length, sketched.length);
    return rows.reduce((acc, x, p) => acc + x * sketched[p], 0);
  } finally {
    device.dispose();
    for (const c of [d, q]) tf.dispose([c.tokenLosses, c.labels, ...c.modules.flatMap((m) => [m.a, m.g])]);
  }
}

before(async () => {
  await initBackend('wasm');
});

for (const text of ['kron:3x3', 'count:12']) {
  test(`${text}: the mean over 2,000 seeds of ⟨query, document⟩ estimates Σ R_q R_d / (Λ + λ) without bias`, async () => {
    const exact = exactProduct();
    const draws: number[] = [];
    for (let seed = 0; seed < 2000; seed++) draws.push(await sketchProduct(text, seed));
    const mean = draws.reduce((a, b) => a + b) / draws.length;
    const sd = Math.sqrt(draws.reduce((a, x) => a + (x - mean) ** 2, 0) / (draws.length - 1));
    console.log(
      `# ${text}: exact ${exact.toFixed(4)}, mean ${mean.toFixed(4)} ± ${(sd / Math.sqrt(draws.length)).toFixed(4)} (sd of one draw ${sd.toFixed(4)})`,
    );
    assert.ok(Math.abs(mean - exact) < 4 * (sd / Math.sqrt(draws.length)), `mean ${mean} vs exact ${exact}`);
    assert.ok(4 * (sd / Math.sqrt(draws.length)) < 0.1 * exact, 'the test can see a bias of 10%');
    // A sketch of a few dimensions is not the product itself: each draw is off, only their mean is right.
    assert.ok(sd > 0.05 * Math.abs(exact), `sd ${sd}`);
  });
}

test('eigen: the exact product over the top k_S × k_A eigen-subspace, and the whole product with the whole eigenbasis', async () => {
  const top = exactProduct((_, s, a) => s < 3 && a < 2);
  const sub = await sketchProduct('eigen:3x2', 0);
  assert.ok(Math.abs(sub - top) < 1e-4 * Math.abs(top) + 1e-6, `${sub} vs ${top}`);
  const all = exactProduct();
  assert.ok(Math.abs((await sketchProduct('eigen:99x99', 0)) - all) < 1e-4 * Math.abs(all) + 1e-6);
  assert.ok(Math.abs(top - all) > 1e-3 * Math.abs(all), 'the subspace leaves part of the product out');
  // Seeds do not matter for eigen; they do for kron.
  assert.equal(await sketchProduct('eigen:3x2', 1), sub);
  assert.notEqual(await sketchProduct('kron:3x2', 1), await sketchProduct('kron:3x2', 0));
});
