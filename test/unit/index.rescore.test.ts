/**
 * The rescoring tier on small random cases, through the engine's own device code: the factors from the
 * two range sketches equal the gradient when its rank is within the sketch and are near the Eckart–Young
 * optimum (an independent SVD) otherwise; a row's score against a preconditioned query equals the exact
 * ⟨P_q, G_d⟩ within the int8 tolerance; rows are checked (checksum, row number, file size) and a damaged
 * one is refused with its file named.
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initBackend } from '../../server/src/engine/device/backend';
import { download } from '../../server/src/engine/device/readback';
import type { DeviceCaptures } from '../../server/src/engine/capture/deviceCaptures';
import { truncatedSvd } from '../../server/src/engine/linalg/svd';
import { factorsFromSketches } from '../../server/src/engine/gradindex/rescore/factorize';
import { packRescoreRow, rescoreSettings, unpackRescoreRow } from '../../server/src/engine/gradindex/rescore/layout';
import { DeviceRescore } from '../../server/src/engine/gradindex/rescore/reductions';
import { whiteningMessages } from '../../server/src/engine/gradindex/rescore/basis';
import { symmetricEigen } from '../../server/src/engine/linalg/eigh';
import type { ModuleFactors } from '../../server/src/engine/ekfac/types';
import { RescoreReader, RescoreWriter } from '../../server/src/engine/gradindex/rescore/store';
import { isInfluenceLensError } from '../../server/src/engine/errors';
import { tf, type Tensor2D } from '../../server/src/engine/tf';
import { Rng } from '../../server/src/engine/util/random';

const rng = new Rng(5);
const SHAPES: [number, number][] = [
  [12, 9],
  [7, 15],
];

const randn = (n: number) => Float64Array.from({ length: n }, () => rng.normal());

/** Eigenbases of random covariances (eigenvalues over two decades), for the whitened tier. */
const eigenFactors: ModuleFactors[] = SHAPES.map(([outDim, inDim], m) => {
  const eig = (n: number) => {
    const X = randn(n * 2 * n);
    const M = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) for (let k = 0; k < 2 * n; k++) M[i * n + j] += X[i * 2 * n + k] * X[j * 2 * n + k] * 10 ** (-(k % n) / n);
    const { values, vectors } = symmetricEigen(M, n);
    return { Q: vectors, e: values };
  };
  const S = eig(outDim);
  const A = eig(inDim);
  return { name: `m${m}`, outDim, inDim, eigen: { name: `m${m}`, outDim, inDim, QS: S.Q, eS: S.e, QA: A.Q, eA: A.e } };
});

/** G = Σ_t g_t a_tᵀ [out × in] row-major. */
function gradient(a: Float32Array, g: Float32Array, L: number, O: number, I: number): Float64Array {
  const G = new Float64Array(O * I);
  for (let l = 0; l < L; l++) for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) G[o * I + i] += g[l * O + o] * a[l * I + i];
  return G;
}

/** Y = G Ω and Z = Gᵀ Y on the host, float64. */
function sketches(G: Float64Array, O: number, I: number, omega: Float64Array, l: number): { Y: Float64Array; Z: Float64Array } {
  const Y = new Float64Array(O * l);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let k = 0; k < l; k++) Y[o * l + k] += G[o * I + i] * omega[i * l + k];
  const Z = new Float64Array(I * l);
  for (let i = 0; i < I; i++) for (let o = 0; o < O; o++) for (let k = 0; k < l; k++) Z[i * l + k] += G[o * I + i] * Y[o * l + k];
  return { Y, Z };
}

function reconstruct(X: Float64Array, V: Float64Array, O: number, I: number, r: number): Float64Array {
  const G = new Float64Array(O * I);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let k = 0; k < r; k++) G[o * I + i] += X[o * r + k] * V[i * r + k];
  return G;
}

const frob = (a: Float64Array, b?: Float64Array) => Math.sqrt(a.reduce((s, x, i) => s + (x - (b ? b[i] : 0)) ** 2, 0));

before(async () => {
  await initBackend('wasm');
});

test('factors from the range sketches: exact when the gradient has rank ≤ r, near the best rank-r approximation otherwise', () => {
  const [O, I] = [20, 16];
  const l = 10;
  const omega = randn(I * l);
  // A document of 4 tokens: rank 4 ≤ r = 6.
  const few = gradient(Float32Array.from(randn(4 * I)), Float32Array.from(randn(4 * O)), 4, O, I);
  const s4 = sketches(few, O, I, omega, l);
  const f4 = factorsFromSketches(s4.Y, s4.Z, O, I, l, 6);
  assert.equal(f4.rank, 4, 'the near-null directions of C are dropped');
  assert.ok(frob(reconstruct(f4.X, f4.V, O, I, 6), few) < 1e-9 * frob(few), 'exact at low rank');
  // Many tokens with decaying weights: the error of rank 3 within 5% of the optimum (an independent SVD).
  const L = 30;
  const g = Float32Array.from({ length: L * O }, (_, k) => rng.normal() * 0.7 ** Math.floor(k / O));
  const many = gradient(Float32Array.from(randn(L * I)), g, L, O, I);
  const sm = sketches(many, O, I, omega, l);
  const fm = factorsFromSketches(sm.Y, sm.Z, O, I, l, 3);
  const svd = truncatedSvd(many, O, I, 16);
  const optimum = Math.sqrt(
    Array.from(svd.s)
      .slice(3)
      .reduce((s, x) => s + x * x, 0),
  );
  const err = frob(reconstruct(fm.X, fm.V, O, I, 3), many);
  assert.ok(err <= 1.05 * optimum, `error ${err} vs optimum ${optimum}`);
  assert.ok(err >= optimum * (1 - 1e-9), 'not better than Eckart–Young: the test is measuring');
  // X has orthonormal columns.
  for (let j = 0; j < 3; j++)
    for (let k = 0; k < 3; k++) {
      const dot = Array.from({ length: O }, (_, o) => fm.X[o * 3 + j] * fm.X[o * 3 + k]).reduce((a, b) => a + b);
      assert.ok(Math.abs(dot - (j === k ? 1 : 0)) < 1e-9);
    }
});

for (const whitening of [0, 0.1])
  test(`the device rows score against a preconditioned query as ⟨P_q, G_d⟩ (whitening ${whitening}; exact at low rank, within int8 rounding)`, async () => {
    const r = 12; // a prefix of 8 factors (RESCORE_PREFIX_RANK), then 4 more
    const L = 10; // rank 10 per module: the factors are the (whitened) gradient itself
    const settings = rescoreSettings(r, 3, SHAPES, whitening);
    const names = SHAPES.map((_, m) => `m${m}`);
    const device = new DeviceRescore(settings, names, whiteningMessages(eigenFactors, whitening));
    const B = 3;
    const docs = Array.from({ length: B }, () => SHAPES.map(([O, I]) => ({ a: Float32Array.from(randn(L * I)), g: Float32Array.from(randn(L * O)) })));
    const c: DeviceCaptures = {
      B,
      L,
      tokenCounts: Array(B).fill(L),
      rowMask: new Float32Array(B * L).fill(1),
      targetMask: new Float32Array(B * L).fill(1),
      tokenLosses: tf.zeros([B * L]),
      labels: tf.zeros([B * L], 'int32'),
      modules: SHAPES.map(([O, I], m) => ({
        module: { name: names[m], weight: '', inDim: I, outDim: O },
        a: tf.tensor2d(Float32Array.from(docs.flatMap((d) => Array.from(d[m].a))), [B * L, I]),
        g: tf.tensor2d(Float32Array.from(docs.flatMap((d) => Array.from(d[m].g))), [B * L, O]),
      })),
    };
    const P = SHAPES.map(([O, I]) => randn(O * I));
    const PT = new Map<string, Tensor2D>(
      SHAPES.map(([O, I], m) => {
        const t = new Float32Array(I * O);
        for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) t[i * O + o] = P[m][o * I + i];
        return [names[m], tf.tensor2d(t, [I, O])];
      }),
    );
    try {
      const rows = await download(device.rows(c));
      assert.equal(rows.length, B);
      assert.ok(rows.every((x) => x.byteLength === settings.rowBytes));
      const scores = await device.scores(rows, PT);
      docs.forEach((d, b) => {
        const exact = SHAPES.reduce((s, [O, I], m) => s + gradient(d[m].a, d[m].g, L, O, I).reduce((t, x, k) => t + x * P[m][k], 0), 0);
        const scale = SHAPES.reduce((s, [O, I], m) => s + frob(gradient(d[m].a, d[m].g, L, O, I)) * frob(P[m]), 0);
        assert.ok(Math.abs(scores[b] - exact) < 0.02 * scale, `document ${b}: ${scores[b]} vs exact ${exact} (scale ${scale})`);
      });
      // The rows' prefixes score as their first factors do (X, V unpacked here, Σ_k x_kᵀ P v_k on the host).
      const prefixes = rows.map((row) => row.subarray(0, settings.prefixBytes));
      const fromPrefixes = await device.scores(prefixes, PT);
      prefixes.forEach((row, b) => {
        if (whitening > 0) return; // P̂ is in whitened coordinates there
        const f = unpackRescoreRow(row, settings);
        const k0 = settings.prefixRank;
        const want = SHAPES.reduce((sum, [O, I], m) => {
          let t = 0;
          for (let k = 0; k < k0; k++) for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) t += f[m].X[o * k0 + k] * P[m][o * I + i] * f[m].V[i * k0 + k];
          return sum + t;
        }, 0);
        assert.ok(Math.abs(fromPrefixes[b] - want) < 1e-3 * Math.abs(want) + 1e-4, `prefix of document ${b}: ${fromPrefixes[b]} vs ${want}`);
      });
      // A query of rank 3 is scored the same through its rank-4 factors as through itself (the range finder finds its whole range).
      const lowRank = SHAPES.map(([O, I]) => {
        const u = randn(O * 3);
        const v = randn(I * 3);
        const t = new Float32Array(I * O);
        for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let j = 0; j < 3; j++) t[i * O + o] += u[o * 3 + j] * v[i * 3 + j];
        return t;
      });
      const PTlow = new Map<string, Tensor2D>(SHAPES.map(([O, I], m) => [names[m], tf.tensor2d(lowRank[m], [I, O])]));
      try {
        const dense = await device.scores(rows, PTlow);
        const factored = await device.scores(rows, PTlow, 4);
        const again = await device.scores(prefixes, PTlow, 4); // the factors are made once per query and reused
        const densePrefixes = await device.scores(prefixes, PTlow);
        dense.forEach((x, b) =>
          assert.ok(Math.abs(factored[b] - x) < 1e-3 * Math.abs(x) + 1e-3, `document ${b}: rank-4 query ${factored[b]} vs the query ${x}`),
        );
        densePrefixes.forEach((x, b) =>
          assert.ok(Math.abs(again[b] - x) < 1e-3 * Math.abs(x) + 1e-3, `prefix ${b}: rank-4 query ${again[b]} vs the query ${x}`),
        );
        // On the CPU the low-rank sums run in the tier's kernel (int16 query factors); elsewhere (a GPU) as tfjs
        // products: the same scores within the tolerance above.
        await tf.setBackend('cpu');
        try {
          const viaTensors = await device.scores(prefixes, PTlow, 4);
          const wholeViaTensors = await device.scores(rows, PTlow, 4);
          again.forEach((x, b) => assert.ok(Math.abs(viaTensors[b] - x) < 1e-3 * Math.abs(x) + 1e-3, `prefix ${b}: tfjs ${viaTensors[b]} vs kernel ${x}`));
          factored.forEach((x, b) =>
            assert.ok(Math.abs(wholeViaTensors[b] - x) < 1e-3 * Math.abs(x) + 1e-3, `document ${b}: tfjs ${wholeViaTensors[b]} vs kernel ${x}`),
          );
        } finally {
          await tf.setBackend('wasm');
        }
        // A query of higher rank is not: its rank-1 factors leave a visible error (the test measures something).
        const rank1 = await device.scores(rows, PT, 1);
        assert.ok(
          rank1.some((x, b) => Math.abs(x - scores[b]) > 1e-2 * Math.abs(scores[b])),
          'a rank-1 approximation of a random query changed nothing',
        );
      } finally {
        tf.dispose([...PTlow.values()]);
      }
      if (whitening === 0) {
        // Unpacked factors reconstruct the gradient within int8 rounding.
        const f = unpackRescoreRow(rows[0], settings);
        const [O, I] = SHAPES[0];
        const G = gradient(docs[0][0].a, docs[0][0].g, L, O, I);
        const back = reconstruct(Float64Array.from(f[0].X), Float64Array.from(f[0].V), O, I, r);
        assert.ok(frob(back, G) < 0.03 * frob(G), `reconstruction error ${frob(back, G) / frob(G)}`);
      }
    } finally {
      device.dispose();
      tf.dispose([c.tokenLosses, c.labels, ...c.modules.flatMap((m) => [m.a, m.g]), ...PT.values()]);
    }
  });

test('the tier refuses a damaged row, a misplaced row and a truncated file, naming the file; reads in flight read the same', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-rescore-'));
  try {
    const settings = rescoreSettings(12, 0, SHAPES);
    assert.ok(settings.prefixRank < settings.rank && settings.prefixBytes < settings.rowBytes);
    const rows = Array.from({ length: 5 }, () =>
      packRescoreRow(
        SHAPES.map(([O, I]) => ({ Xt: randn(12 * O), Vt: randn(12 * I) })),
        settings,
      ),
    );
    const writer = new RescoreWriter(dir, settings, settings.rowBytes * 2); // chunks of 2 rows
    rows.forEach((row) => writer.push(row));
    writer.flush();
    assert.deepEqual(
      writer.chunks.map((c) => [c.first, c.count]),
      [
        [0, 2],
        [2, 2],
        [4, 1],
      ],
    );
    const reader = new RescoreReader(dir, settings, writer.chunks);
    const got = reader.read([4, 0, 3]);
    assert.deepEqual(
      got.map((x) => Buffer.from(x.subarray(16)).equals(Buffer.from(rows[[4, 0, 3][got.indexOf(x)]].subarray(16)))),
      [true, true, true],
    );
    // A prefix alone (header, scales, the first factors) is checked on its own and unpacks to the whole row's first factors.
    const [prefix] = reader.read([3], { prefix: true });
    assert.equal(prefix.byteLength, settings.prefixBytes);
    const whole = unpackRescoreRow(got[2], settings);
    const leading = unpackRescoreRow(prefix, settings);
    SHAPES.forEach(([O], m) => {
      const k0 = settings.prefixRank;
      for (let o = 0; o < O; o++) for (let k = 0; k < k0; k++) assert.equal(leading[m].X[o * k0 + k], whole[m].X[o * settings.rank + k]);
    });
    // Read with reads in flight, the same rows and prefixes; closing while they run waits for them.
    const again = reader.readAsync([4, 0, 3, 1, 2]);
    reader.close();
    assert.deepEqual(
      (await again).map((x) => Buffer.from(x)),
      [4, 0, 3, 1, 2].map((p) => Buffer.from(rows[p])), // sealed in place when pushed
    );
    assert.throws(() => reader.read([0]), /closed/);
    // One flipped byte in row 3 (second row of the second chunk), past its prefix: a prefix read cannot
    // see it, a whole read refuses it; then one in its prefix, which both refuse.
    const file = join(dir, writer.chunks[1].file);
    const bytes = readFileSync(file);
    bytes[settings.rowBytes + settings.prefixBytes + 5] ^= 1;
    writeFileSync(file, bytes);
    const damaged = new RescoreReader(dir, settings, writer.chunks);
    assert.doesNotThrow(() => damaged.read([2, 4]), 'other rows still read');
    assert.doesNotThrow(() => damaged.read([3], { prefix: true }));
    assert.throws(
      () => damaged.read([3]),
      (e) => isInfluenceLensError(e, 'INDEX_CORRUPT') && e.file === file && /row 1 of rescore-000000002\.bin is damaged/.test(e.message),
    );
    bytes[settings.rowBytes + 40] ^= 1;
    writeFileSync(file, bytes);
    assert.throws(
      () => damaged.read([3], { prefix: true }),
      (e) => isInfluenceLensError(e, 'INDEX_CORRUPT') && e.file === file,
    );
    await assert.rejects(damaged.readAsync([2, 3, 4]), (e) => isInfluenceLensError(e, 'INDEX_CORRUPT') && e.file === file);
    damaged.close();
    // Rows swapped between chunks: intact checksums, wrong numbers.
    const first = readFileSync(join(dir, writer.chunks[0].file));
    writeFileSync(join(dir, writer.chunks[0].file), Buffer.concat([first.subarray(settings.rowBytes), first.subarray(0, settings.rowBytes)]));
    const swapped = new RescoreReader(dir, settings, writer.chunks);
    assert.throws(
      () => swapped.read([0]),
      (e) => isInfluenceLensError(e, 'INDEX_CORRUPT'),
    );
    swapped.close();
    // A truncated chunk: refused when opened.
    writeFileSync(file, bytes.subarray(0, settings.rowBytes));
    assert.throws(
      () => new RescoreReader(dir, settings, writer.chunks),
      (e) => isInfluenceLensError(e, 'INDEX_CORRUPT') && e.file === file,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
