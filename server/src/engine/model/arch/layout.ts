/**
 * How a checkpoint's Hugging Face tensors map onto the canonical ones (types.ts): each slot takes one HF
 * tensor as stored (name and shape) to one canonical tensor, whole, transposed (GPT-2's Conv1D), or as a
 * selection of its rows (a fused q/k/v or gate/up split into its parts, rotate-half q/k rows reordered to
 * the consecutive pairs the forward passes rotate). Several slots may read one HF tensor.
 */
import type { HostTensor } from '../types';

/** `rows` is made when used: a hostile config must not allocate before its shapes are checked against the file. */
export type Transform = { kind: 'none' } | { kind: 'transpose' } | { kind: 'rows'; rows: () => Int32Array };

export interface Slot {
  canonical: string;
  hf: string;
  /** Shape as stored in the HF file. */
  hfShape: number[];
  transform: Transform;
}

export const NONE: Transform = { kind: 'none' };
export const TRANSPOSE: Transform = { kind: 'transpose' };
export const rows = (r: () => Int32Array): Transform => ({ kind: 'rows', rows: r });

export function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

/**
 * The HF rows of `heads` heads of hd rows, head h starting at first + h·stride. With rot > 0 the first rot
 * rows of each head are reordered from rotate-half (row k pairs with k + rot/2) to consecutive pairs
 * (2k, 2k+1): convert_llama_weights_to_hf.py's `permute`, undone. q·k is unchanged when q and k are
 * reordered alike, and so are RMS norms over a head or over all heads when their gains are too.
 */
export function headRows(heads: number, hd: number, opts: { first?: number; stride?: number; rot?: number } = {}): Int32Array {
  const { first = 0, stride = hd, rot = 0 } = opts;
  const out = new Int32Array(heads * hd);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < hd; i++) out[h * hd + i] = first + h * stride + (i < rot ? (i % 2) * (rot / 2) + (i >> 1) : i);
  }
  return out;
}

/** Rows first .. first + n - 1 (one part of a fused tensor). */
export function rowRange(first: number, n: number): Int32Array {
  return Int32Array.from({ length: n }, (_, i) => first + i);
}

/** HF tensor → canonical tensor. */
export function fromHf(t: HostTensor, tr: Transform): HostTensor {
  if (tr.kind === 'transpose') return transpose2d(t);
  if (tr.kind === 'none') return t;
  const cols = t.shape.length === 1 ? 1 : t.shape[1];
  const picked = tr.rows();
  const out = new Float32Array(picked.length * cols);
  picked.forEach((r, i) => out.set(t.data.subarray(r * cols, (r + 1) * cols), i * cols));
  return { shape: t.shape.length === 1 ? [picked.length] : [picked.length, cols], data: out };
}

/** Canonical tensor → its place in the HF tensor `into` (allocated by the caller for row selections). */
export function toHf(t: HostTensor, tr: Transform, into?: HostTensor): HostTensor {
  if (tr.kind === 'transpose') return transpose2d(t);
  if (tr.kind === 'none' || !into) return t;
  const cols = t.shape.length === 1 ? 1 : t.shape[1];
  tr.rows().forEach((r, i) => into.data.set(t.data.subarray(i * cols, (i + 1) * cols), r * cols));
  return into;
}

/**
 * Llama's q/k permutation on a whole [heads·hd, cols] tensor: toHfLayout=false undoes it (export.py
 * permute_reverse), toHfLayout=true applies it.
 */
export function permuteRopeRows(t: HostTensor, heads: number, toHfLayout: boolean): HostTensor {
  const tr = rows(() => headRows(heads, t.shape[0] / heads, { rot: t.shape[0] / heads }));
  return toHfLayout ? toHf(t, tr, { shape: [...t.shape], data: new Float32Array(t.data.length) }) : fromHf(t, tr);
}
