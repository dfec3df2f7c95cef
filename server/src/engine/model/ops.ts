/**
 * Differentiable building blocks shared by the architectures. Matrix products go through custom
 * gradients that transpose explicitly: on wasm a matMul with a transpose flag is 10–30× slower than an
 * explicit tf.transpose first (docs/ENVIRONMENT.md), and tfjs's own matMul gradient uses those flags.
 */
import { tf, type Tensor, type Tensor2D, type Tensor3D } from '../tf';
import { smallBatchMatMul, symmetricGram } from './kernel/bmmKernel';
import type { RopeScaling } from './types';

/**
 * An op with a hand-written gradient. `backward` gets dy and the inputs and returns one gradient per
 * input; inputs are saved for the backward pass only when it needs them.
 */
function customOp(inputs: Tensor[], forward: (...xs: Tensor[]) => Tensor, backward: (dy: Tensor, xs: Tensor[]) => Tensor[]): Tensor {
  const n = inputs.length;
  const f = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const xs = args.slice(0, n) as Tensor[];
    (args[n] as tf.GradSaveFunc)(xs);
    return { value: forward(...xs), gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) => backward(dy as Tensor, saved) };
  });
  return f(...inputs);
}

/** x [N, in] · W, where the caller keeps W in both layouts: wT [in, out] for the product, w [out, in] for dx. */
export function linear(x: Tensor2D, wT: Tensor2D, w: Tensor2D): Tensor2D {
  // W is a closure constant, so no gradient is computed for it (the captures never need one).
  return customOp(
    [x],
    (xx) => tf.matMul(xx as Tensor2D, wT),
    (dy) => [tf.matMul(dy as Tensor2D, w)],
  ) as Tensor2D;
}

/** a [N, K] · b [K, M] with gradients for both operands (used where W itself is differentiated). */
export function matMul2(a: Tensor2D, b: Tensor2D): Tensor2D {
  return customOp(
    [a, b],
    (aa, bb) => tf.matMul(aa as Tensor2D, bb as Tensor2D),
    (dy, [aa, bb]) => [tf.matMul(dy as Tensor2D, tf.transpose(bb as Tensor2D)), tf.matMul(tf.transpose(aa as Tensor2D), dy as Tensor2D)],
  ) as Tensor2D;
}

/** Operands and result of a batched product, in bytes, up to which wasm runs it in our own kernel. */
const KERNEL_PRODUCT_BYTES = 64 * 2 ** 20;

/**
 * wasm runs batched matMul with a naive loop (about 1 GFLOP/s) and slices slowly, while a 2-D matMul goes
 * through XNNPACK: so on wasm, read both operands once and multiply every slice in one call of our own
 * kernel (kernel/bmm.wat: 1.5–2.6× the slice-by-slice products on attention's shapes, as fast on large
 * ones), or slice by slice through XNNPACK where the operands are too large to copy once more. Elsewhere
 * batched matMul is native and fast.
 */
export function batchMatMul(a: Tensor3D, b: Tensor3D): Tensor3D {
  if (tf.getBackend() !== 'wasm' || a.shape[0] === 1) return tf.matMul(a, b);
  const [Z, M, K] = a.shape;
  const N = b.shape[2];
  const ad = a.dataSync() as Float32Array;
  const bd = b.dataSync() as Float32Array;
  if (a.dtype === 'float32' && b.dtype === 'float32' && 4 * Z * (M * K + K * N + M * N) <= KERNEL_PRODUCT_BYTES) {
    // The kernel's result is a view of its memory: the tensor copies it before the next call.
    return tf.tensor3d(smallBatchMatMul(ad, bd, Z, M, K, N), [Z, M, N]);
  }
  return tf.tidy(() => {
    const products: Tensor[] = [];
    for (let z = 0; z < Z; z++) {
      const az = tf.tensor2d(ad.subarray(z * M * K, (z + 1) * M * K), [M, K]);
      const bz = tf.tensor2d(bd.subarray(z * K * N, (z + 1) * K * N), [K, N]);
      products.push(tf.matMul(az, bz));
    }
    return tf.reshape(tf.concat(products), [Z, M, N]) as Tensor3D;
  });
}

/**
 * xᵀx for x [K × N]. On wasm (float32, within the kernel's size) by our kernel, which computes the upper
 * triangle only and reads x as it is: half the products of matMul(xᵀ, x) and no transposed copy
 * (1.3–4× XNNPACK's full product on the fit's shapes, docs/PERFORMANCE.md). Elsewhere the full product.
 */
export function gramMatrix(x: Tensor2D): Tensor2D {
  const [K, N] = x.shape;
  if (tf.getBackend() !== 'wasm' || x.dtype !== 'float32' || 4 * (K * N + N * N) > KERNEL_PRODUCT_BYTES) return tf.matMul(tf.transpose(x), x);
  return tf.tensor2d(symmetricGram(x.dataSync() as Float32Array, K, N), [N, N]);
}

/**
 * table[ids] with a gradient for the table. tfjs's own gather gradient needs UnsortedSegmentSum, which
 * wasm lacks, so there the backward pass scatter-adds the rows on the host; elsewhere (a GPU cannot be read
 * synchronously) tfjs's own gradient does it on the device.
 */
export function gatherRows(table: Tensor2D, ids: Tensor): Tensor2D {
  if (tf.getBackend() !== 'wasm') return tf.gather(table, ids);
  const [V, dim] = table.shape;
  // Read now: tensors made in the forward pass are gone by the time the backward pass runs.
  const idx = ids.dataSync().slice();
  return customOp(
    [table],
    (t) => tf.gather(t, ids),
    (dy) => {
      const g = dy.dataSync();
      const out = new Float32Array(V * dim);
      for (let r = 0; r < idx.length; r++) {
        const base = idx[r] * dim;
        for (let j = 0; j < dim; j++) out[base + j] += g[r * dim + j];
      }
      return [tf.tensor2d(out, [V, dim])];
    },
  ) as Tensor2D;
}

export function rmsNorm(x: Tensor2D, weight: Tensor, eps: number): Tensor2D {
  const ms = tf.mean(tf.mul(x, x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), weight);
}

/** LayerNorm composed from primitives (tfjs has no layerNorm op); biased variance as PyTorch. */
export function layerNorm(x: Tensor2D, weight: Tensor, bias: Tensor, eps: number): Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.mul(centred, centred), -1, true);
  return tf.add(tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight), bias);
}

export function silu(x: Tensor): Tensor {
  return tf.mul(x, tf.sigmoid(x));
}

/** GPT-2's "gelu_new": 0.5 x (1 + tanh(√(2/π)(x + 0.044715 x³))); x*x*x because pow is slow on wasm. */
export function geluTanh(x: Tensor): Tensor {
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** Exact GELU: 0.5 x (1 + erf(x/√2)). */
export function geluErf(x: Tensor): Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
}

/** Additive causal mask [L, L]: 0 on and below the diagonal, a large negative number above. */
export function causalMask(length: number): Tensor2D {
  const m = new Float32Array(length * length);
  for (let i = 0; i < length; i++) m.fill(-1e9, i * length + i + 1, (i + 1) * length);
  return tf.tensor2d(m, [length, length]);
}

/**
 * The mask for L positions after `offset` cached ones ([L, offset + L]), with rep query heads stacked
 * along rows, cut from a full-context one.
 */
export function groupedCausalMask(full: Tensor2D, length: number, rep: number, offset = 0): Tensor2D {
  const m = tf.slice(full, [offset, 0], [length, offset + length]);
  return rep === 1 ? m : tf.tile(m, [rep, 1]);
}

/**
 * Causal multi-head attention with grouped-query heads (query head h reads kv head ⌊h / (H/Hkv)⌋).
 * q [B, L, H, hd], k/v [B, S, Hkv, hd] (S ≥ L: cached positions first) → [B·L, H·hd]; mask [rep·L, S].
 * The rep query heads that share a kv head are stacked along rows, so each kv head is multiplied once
 * and never repeated in memory.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, nHeads: number, nKvHeads: number, mask: Tensor2D): Tensor2D {
  const [B, L, , hd] = q.shape as number[];
  const S = k.shape[1] as number;
  const rep = nHeads / nKvHeads;
  const Z = B * nKvHeads;
  // Scaling q (B·L·H·hd values) is cheaper than scaling the scores (Z·rep·L·L values), forward and backward.
  const qg = tf.reshape(tf.transpose(tf.mul(q, 1 / Math.sqrt(hd)), [0, 2, 1, 3]), [Z, rep * L, hd]) as Tensor3D;
  const kT = tf.reshape(tf.transpose(k, [0, 2, 3, 1]), [Z, hd, S]) as Tensor3D;
  const vh = tf.reshape(tf.transpose(v, [0, 2, 1, 3]), [Z, S, hd]) as Tensor3D;
  const out = attend(qg, kT, vh, mask);
  return tf.reshape(tf.transpose(tf.reshape(out, [B, nHeads, L, hd]), [0, 2, 1, 3]), [B * L, nHeads * hd]) as Tensor2D;
}

/**
 * softmax(q kᵀ + mask) v for each slice z, with q [Z, M, hd], kT [Z, hd, S], v [Z, S, hd], mask [M, S] (a
 * constant). One op with its own gradient: the backward pass keeps only the probabilities [Z, M, S] of each
 * layer, and frees its own [Z, M, S] intermediates as soon as the layer's gradients are made; composed
 * from tfjs ops, every intermediate of every layer (scores, masked scores, their gradients) stayed alive
 * to the end of the backward pass, several times the memory of everything else in a capture pass.
 */
function attend(q: Tensor3D, kT: Tensor3D, v: Tensor3D, mask: Tensor2D): Tensor3D {
  const op = tf.customGrad((...args: (Tensor | tf.GradSaveFunc)[]) => {
    const [qq, kk, vv] = args.slice(0, 3) as Tensor3D[];
    const p = tf.softmax(tf.add(batchMatMul(qq, kk), mask)) as Tensor3D;
    (args[3] as tf.GradSaveFunc)([qq, kk, vv, p]);
    return {
      value: batchMatMul(p, vv),
      gradFunc: (dy: Tensor | Tensor[], saved: Tensor[]) =>
        tf.tidy(() => {
          const [sq, sk, sv, sp] = saved as Tensor3D[];
          const d = dy as Tensor3D;
          const dp = batchMatMul(d, tf.transpose(sv, [0, 2, 1]) as Tensor3D);
          // Softmax's gradient: p ⊙ (dp − Σ_j dp_j p_j) along each row.
          const ds = tf.mul(sp, tf.sub(dp, tf.sum(tf.mul(dp, sp), -1, true))) as Tensor3D;
          return [
            batchMatMul(ds, tf.transpose(sk, [0, 2, 1]) as Tensor3D),
            batchMatMul(tf.transpose(sq, [0, 2, 1]) as Tensor3D, ds),
            batchMatMul(tf.transpose(sp, [0, 2, 1]) as Tensor3D, d),
          ];
        }),
    };
  });
  return op(q, kT, v) as Tensor3D;
}

/**
 * RoPE's inverse frequencies, one per rotated pair: 1/θ^(2k/rotaryDim), then rescaled as transformers'
 * rope_init_fn does ('linear': every frequency / factor; 'llama3': wavelengths longer than
 * original/lowFreqFactor are divided by factor, shorter than original/highFreqFactor kept, smoothly
 * interpolated between).
 */
export function ropeInverseFrequencies(rotaryDim: number, theta: number, scaling?: RopeScaling): Float64Array {
  const inv = new Float64Array(rotaryDim / 2);
  for (let k = 0; k < inv.length; k++) inv[k] = 1 / Math.pow(theta, (2 * k) / rotaryDim);
  if (!scaling) return inv;
  if (scaling.kind === 'linear') return inv.map((f) => f / scaling.factor);
  const { factor, lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositions: old } = scaling;
  return inv.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < old / hi) return f;
    if (wavelen > old / lo) return f / factor;
    const smooth = (old / wavelen - lo) / (hi - lo);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/**
 * cos and sin [n, hd] for RoPE on consecutive pairs (2k, 2k+1) of each head's first 2·inv.length dims
 * (the loaders reorder rotate-half checkpoints to this); dims past them are not rotated (cos 1, sin 0).
 */
export function ropeTables(n: number, hd: number, inv: Float64Array): { cos: Float32Array; sin: Float32Array } {
  const cos = new Float32Array(n * hd).fill(1);
  const sin = new Float32Array(n * hd);
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < inv.length; k++) {
      const a = p * inv[k];
      cos[p * hd + 2 * k] = cos[p * hd + 2 * k + 1] = Math.cos(a);
      sin[p * hd + 2 * k] = sin[p * hd + 2 * k + 1] = Math.sin(a);
    }
  }
  return { cos, sin };
}

/** R [hd, hd] with x·R pairing (x0, x1) → (−x1, x0) (transposed: its transpose, for the gradient). */
export function ropeRotation(hd: number, transposed: boolean): Float32Array {
  const r = new Float32Array(hd * hd);
  for (let j = 0; j < hd; j += 2) {
    r[(j + 1) * hd + j] = transposed ? 1 : -1;
    r[j * hd + j + 1] = transposed ? -1 : 1;
  }
  return r;
}

/** LayerNorm without a bias (Cohere). */
export function layerNormNoBias(x: Tensor2D, weight: Tensor, eps: number): Tensor2D {
  const mean = tf.mean(x, -1, true);
  const centred = tf.sub(x, mean);
  const variance = tf.mean(tf.mul(centred, centred), -1, true);
  return tf.mul(tf.mul(centred, tf.rsqrt(tf.add(variance, eps))), weight);
}
