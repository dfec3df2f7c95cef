/**
 * Device side of the rescoring tier. Documents: each module's gradient, K-FAC-whitened, W = M_S G M_Aᵀ
 * with M = D^-½ Qᵀ (layout.ts, `whitening`; M = I when 0), sketched as Y = W Ω and Z = Wᵀ Y from the tokens
 * (G = Σ_t g_t a_tᵀ is never formed: G Ω' = gᵀ(a Ω'), Gᵀ Y' = aᵀ(g Y')), read back and turned into packed
 * low-rank rows on this thread's host side (factorize.ts). Queries: each candidate's Σ_k x_kᵀ P̂ v_k with
 * P̂ = N_S P_q N_Aᵀ (N = D^½ Qᵀ), the query's preconditioned gradient in the same coordinates, one 2-D
 * product per module for all candidates.
 */
import { download, readback, type Readback } from '../../device/readback';
import type { DeviceCaptures, DeviceModuleCapture } from '../../capture/deviceCaptures';
import { batchMatMul } from '../../model/ops';
import { tf, type Tensor2D, type Tensor3D } from '../../tf';
import { Rng } from '../../util/random';
import type { WhiteningMessage } from './basis';
import { factorsFromSketches, sketchRotation } from './factorize';
import { matmulTransB } from '../../linalg/matrix';
import { smallBatchMatMul } from '../../model/kernel/bmmKernel';
import { lowRankScores, quantizeQueryModule, type QuantizedQueryModule } from './kernel/lowRankKernel';
import { gatherModule, packRescoreRow, RESCORE_OVERSAMPLE, type RescoreSettings } from './layout';

/** The seeded Gaussian test matrix Ω [in × ℓ] of module `m` (row-major). */
export function rescoreOmega(seed: number, m: number, inDim: number, l: number): Float32Array {
  const rng = new Rng(seed, 0x7e5c0 + m);
  return Float32Array.from({ length: inDim * l }, () => rng.normal());
}

interface Whitening {
  /** D^-½ Qᵀ, [out × out] and [in × in]. */
  MS: Tensor2D;
  MA: Tensor2D;
  /** D^½ Qᵀ. */
  NS: Tensor2D;
  NA: Tensor2D;
}

/** A query's P̂ᵀ ≈ A Bᵀ per module, from its randomised range finder: A [in × rank], B [out × rank]. */
interface QueryFactors {
  A: Tensor2D;
  B: Tensor2D;
  /** The same for the CPU's kernel. */
  quantized: QuantizedQueryModule;
}

interface DeviceModule {
  name: string;
  /** Ω' = M_Aᵀ Ω [in × ℓ]: the tokens' inputs times it give W's range sketch before M_S. */
  omega: Tensor2D;
  whitening?: Whitening;
}

/**
 * The rank at which a query's factors are made, once per query: the largest a rescoring step asks for
 * (runs/tierRescore.ts, QUERY_RANK); smaller ranks take their first factors.
 */
export const QUERY_FACTOR_RANK = 32;

export class DeviceRescore {
  private readonly modules: DeviceModule[];
  /** The low-rank factors of the query set now (keyed by its Pᵀ map, which each new query replaces). */
  private query?: { key: Map<string, Tensor2D>; rank: number; factors: Promise<QueryFactors[]> };

  constructor(
    readonly settings: RescoreSettings,
    names: string[],
    whitening?: WhiteningMessage[],
  ) {
    const l = settings.sketchColumns;
    if (settings.whitening > 0 !== (whitening !== undefined)) throw new Error('the rescoring tier needs its whitening bases exactly when it is whitened');
    this.modules = settings.shapes.map(([outDim, inDim], m) =>
      tf.tidy(() => {
        const omega = tf.tensor2d(rescoreOmega(settings.seed, m, inDim, l), [inDim, l]);
        const w = whitening?.[m];
        if (!w) return { name: names[m], omega: tf.keep(omega) };
        const side = (Q: Float32Array, d: Float32Array, n: number, power: number) =>
          tf.keep(tf.mul(tf.transpose(tf.tensor2d(Q, [n, n])), tf.reshape(tf.pow(tf.tensor1d(d), power), [n, 1])) as Tensor2D);
        const MA = side(w.QA, w.dA, inDim, -0.5);
        return {
          name: names[m],
          omega: tf.keep(tf.matMul(tf.transpose(MA), omega)) as Tensor2D,
          whitening: { MS: side(w.QS, w.dS, outDim, -0.5), MA, NS: side(w.QS, w.dS, outDim, 0.5), NA: side(w.QA, w.dA, inDim, 0.5) },
        };
      }),
    );
  }

  dispose(): void {
    for (const m of this.modules) tf.dispose([m.omega, ...(m.whitening ? Object.values(m.whitening) : [])]);
    this.dropQuery();
  }

  private dropQuery(): void {
    const old = this.query;
    this.query = undefined;
    void old?.factors.then(
      (fs) => fs.forEach((f) => tf.dispose([f.A, f.B])),
      () => undefined,
    );
  }

  /**
   * Every document's packed row (unsealed: the builder writes its number and checksum). Per module, the
   * device gives each document's Yᵀ and Zᵀ; the host forms YᵀY and ZᵀZ in float64 and the small rotation T
   * (factorize.ts), then Xᵀ = Tᵀ Yᵀ and Vᵀ = Tᵀ Zᵀ for the whole batch in one call of the SIMD kernel each:
   * factor-major, as the row stores them.
   */
  rows(c: DeviceCaptures): Readback<Uint8Array[]> {
    const l = this.settings.sketchColumns;
    const r = this.settings.rank;
    const B = c.B;
    const parts = this.modules.flatMap((d) => {
      const x = c.modules.find((k) => k.module.name === d.name);
      if (!x) throw new Error(`module ${d.name} is not tracked in this compute thread`);
      return rangeSketches(c, x, d);
    });
    const bytes = this.settings.rowBytes;
    return readback(parts, (data) => {
      const modules = this.settings.shapes.map(([outDim, inDim], m) => {
        const [Yt, Zt] = [data[2 * m], data[2 * m + 1]] as Float32Array[];
        const Tt = new Float32Array(B * r * l); // per document Tᵀ [r × ℓ], zero past its rank
        for (let b = 0; b < B; b++) {
          const y = new Float64Array(Yt.subarray(b * l * outDim, (b + 1) * l * outDim));
          const z = new Float64Array(Zt.subarray(b * l * inDim, (b + 1) * l * inDim));
          const rot = sketchRotation(matmulTransB(y, y, l, outDim, l), matmulTransB(z, z, l, inDim, l), l, r);
          if (!rot) continue;
          for (let i = 0; i < l; i++) for (let j = 0; j < rot.rank; j++) Tt[b * r * l + j * l + i] = rot.T[i * rot.rank + j];
        }
        // The kernel's result is a view of its memory until the next call: copied.
        const Xt = smallBatchMatMul(Tt, Yt, B, r, l, outDim).slice();
        const Vt = smallBatchMatMul(Tt, Zt, B, r, l, inDim).slice();
        return { Xt, Vt, outDim, inDim };
      });
      // The batch's rows in one buffer: one transfer to the main thread instead of one copy per row.
      const all = new Uint8Array(B * bytes);
      return Array.from({ length: B }, (_, b) => {
        const factors = modules.map(({ Xt, Vt, outDim, inDim }) => ({
          Xt: Xt.subarray(b * r * outDim, (b + 1) * r * outDim),
          Vt: Vt.subarray(b * r * inDim, (b + 1) * r * inDim),
        }));
        return packRescoreRow(factors, this.settings, all.subarray(b * bytes, (b + 1) * bytes));
      });
    });
  }

  /**
   * Scores of packed rows (whole, or prefixes: their first factors) against a query's preconditioned
   * gradient, PT = P_qᵀ [in × out] per module: Σ_k v_kᵀ P̂ᵀ x_k, with the candidates' factors side by side.
   * `queryRank` 0 multiplies by P̂ᵀ itself (in·out per factor and candidate); else by its rank-`queryRank`
   * factors P̂ᵀ ≈ A Bᵀ, Σ (Aᵀ V ⊙ Bᵀ X), (in + out)·rank per factor and candidate — the query's spectrum
   * decays fast, so a small rank keeps the candidates' order (docs/INDEX.md, "Two tiers").
   */
  async scores(rows: Uint8Array[], PT: Map<string, Tensor2D>, queryRank = 0): Promise<Float32Array> {
    const low = queryRank > 0 ? await this.queryFactors(PT, queryRank) : undefined;
    // On the CPU the low-rank step reads the rows' int8 factors where they lie (lowRank.wat).
    if (low && tf.getBackend() === 'wasm')
      return lowRankScores(
        rows,
        this.settings,
        low.map((f) => (f.A.shape[1] === queryRank ? f.quantized : firstQuantized(f.quantized, queryRank))),
      );
    const C = rows.length;
    // Called outside a capture's tidy scope (a task of its own). One module at a time: its candidates'
    // factors are freed before the next module's are made (all twelve at once took ~100 MB more memory).
    let total: tf.Tensor = tf.zeros([C]);
    this.settings.shapes.forEach(([outDim, inDim], m) => {
      const next = tf.tidy(() => {
        const { X, V, scales, k } = gatherModule(rows, this.settings, m);
        const Xs = tf.tensor2d(X, [C * k, outDim]);
        const Vs = tf.tensor2d(V, [C * k, inDim]);
        const f = low?.[m];
        const first = (F: Tensor2D) => (F.shape[1] === queryRank ? F : tf.slice(F, [0, 0], [F.shape[0], queryRank]));
        // Per factor: x̂_kᵀ P̂ v̂_k = (X̂ P̂ ⊙ V̂) summed over in, or (X̂ B ⊙ V̂ A) summed over the query's rank; then its scales.
        const raw = f
          ? tf.sum(tf.mul(tf.matMul(Xs, first(f.B)), tf.matMul(Vs, first(f.A))), 1)
          : tf.sum(tf.mul(tf.matMul(Xs, tf.transpose(this.whitened(PT, m))), Vs), 1); // [C·k]
        const perFactor = tf.mul(raw, tf.tensor1d(scales));
        return tf.add(total, tf.sum(tf.reshape(perFactor, [C, k]), 1));
      });
      total.dispose();
      total = next;
    });
    return download(readback([total], ([scores]) => scores as Float32Array));
  }

  /** Makes the query's low-rank factors now (QUERY_FACTOR_RANK), for the rescoring steps that follow. */
  async prepareQuery(PT: Map<string, Tensor2D>): Promise<void> {
    await this.queryFactors(PT, QUERY_FACTOR_RANK);
  }

  /** Module m's P̂ᵀ = N_A Pᵀ N_Sᵀ (Pᵀ itself unwhitened), in the caller's tidy scope. */
  private whitened(PT: Map<string, Tensor2D>, m: number): Tensor2D {
    const d = this.modules[m];
    const P = PT.get(d.name);
    if (!P) throw new Error(`no query is set for module ${d.name} in this compute thread`);
    return d.whitening ? (tf.matMul(tf.matMul(d.whitening.NA, P), tf.transpose(d.whitening.NS)) as Tensor2D) : P;
  }

  /**
   * The query's rank-`rank` factors per module. Made once per query at QUERY_FACTOR_RANK (or `rank` when
   * larger): a randomised range finder with one power iteration on the device (Y = P̂ᵀ P̂ Ω'... with Ω'
   * Gaussian), factored on the host (factorize.ts). A lower rank takes their first factors (by singular
   * value: the best approximation of that rank within the same range).
   */
  private async queryFactors(PT: Map<string, Tensor2D>, rank: number): Promise<QueryFactors[]> {
    if (this.query?.key !== PT || this.query.rank < rank) {
      this.dropQuery();
      const made = Math.max(rank, QUERY_FACTOR_RANK);
      this.query = { key: PT, rank: made, factors: this.makeQueryFactors(PT, made) };
    }
    return this.query.factors;
  }

  private makeQueryFactors(PT: Map<string, Tensor2D>, rank: number): Promise<QueryFactors[]> {
    return Promise.all(
      this.settings.shapes.map(async ([outDim, inDim], m) => {
        const l = rank + RESCORE_OVERSAMPLE;
        const [Y, Z] = tf.tidy(() => {
          const M = this.whitened(PT, m); // [in × out]
          const Mt = tf.transpose(M) as Tensor2D; // explicit: wasm's matMul with a transposed operand is slow
          const omega = tf.tensor2d(rescoreOmega(this.settings.seed + 1, m, outDim, l), [outDim, l]);
          const Y = tf.matMul(M, tf.matMul(Mt, tf.matMul(M, omega))) as Tensor2D; // (M Mᵀ) M Ω: [in × ℓ]
          return [Y, tf.matMul(Mt, Y) as Tensor2D]; // Mᵀ Y: [out × ℓ]
        });
        const [y, z] = await download(readback([Y, Z], (data) => data));
        const f = factorsFromSketches(y, z, inDim, outDim, l, rank); // M ≈ A Bᵀ, A = f.X [in × r], B = f.V [out × r]
        return {
          A: tf.tensor2d(Float32Array.from(f.X), [inDim, rank]),
          B: tf.tensor2d(Float32Array.from(f.V), [outDim, rank]),
          quantized: quantizeQueryModule(f.V, f.X, outDim, inDim, rank),
        };
      }),
    );
  }
}

/** The first `rank` of a query's factors for the kernel: its int16 rows are per factor, so a prefix of them. */
function firstQuantized(f: QuantizedQueryModule, rank: number): QuantizedQueryModule {
  const q = Math.ceil(rank / 4) * 4;
  const keep = (x: Int16Array) => x.subarray(0, (x.length / f.q) * q);
  // Factors past `rank` within its last group of four count for nothing through their scales.
  return { bt: keep(f.bt), at: keep(f.at), scales: Float32Array.from(f.scales.subarray(0, q), (v, i) => (i < rank ? v : 0)), q };
}

/**
 * Per document of the batch, its sketches transposed, Yᵀ = (W Ω)ᵀ [B·ℓ × out] and Zᵀ = (Wᵀ Y)ᵀ [B·ℓ × in]
 * (document b's in rows [b·ℓ, (b + 1)·ℓ)). Transposed, the products transpose the small [L × ℓ] operands
 * instead of the tokens' activations.
 */
function rangeSketches(c: DeviceCaptures, m: DeviceModuleCapture, d: DeviceModule): [Tensor2D, Tensor2D] {
  const inDim = m.a.shape[1];
  const outDim = m.g.shape[1];
  const l = d.omega.shape[1];
  const { B, L } = c;
  const g3 = tf.reshape(m.g, [B, L, outDim]) as Tensor3D;
  const a3 = tf.reshape(m.a, [B, L, inDim]) as Tensor3D;
  // Explicit transposes: wasm's matMul with a transposed operand is 10–30× slower.
  const flip = (x: Tensor3D) => tf.transpose(x, [0, 2, 1]) as Tensor3D;
  const T = tf.reshape(tf.matMul(m.a, d.omega), [B, L, l]) as Tensor3D; // a Ω'
  let Yt = tf.reshape(batchMatMul(flip(T), g3), [B * l, outDim]) as Tensor2D; // (G Ω')ᵀ
  const w = d.whitening;
  if (w) Yt = tf.matMul(Yt, tf.transpose(w.MS)) as Tensor2D; // (M_S G M_Aᵀ Ω)ᵀ
  // Gᵀ (M_Sᵀ Y), then M_A in front: Wᵀ Y, transposed.
  const backT = w ? (tf.matMul(Yt, w.MS) as Tensor2D) : Yt;
  const U = batchMatMul(g3, flip(tf.reshape(backT, [B, l, outDim]) as Tensor3D)); // [B, L, ℓ]
  let Zt = tf.reshape(batchMatMul(flip(U), a3), [B * l, inDim]) as Tensor2D;
  if (w) Zt = tf.matMul(Zt, tf.transpose(w.MA)) as Tensor2D;
  return [Yt, Zt];
}
