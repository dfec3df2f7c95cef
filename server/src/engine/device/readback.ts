/**
 * Bringing a task's results from the device to the host. A handler computes its output tensors in one
 * synchronous tidy scope (all the work queued on the device, nothing read in between), then reads them
 * here: one transfer per dtype however many tensors (several only past the device's largest buffer), and
 * asynchronously, because WebGPU cannot read synchronously in Node (and while one task's data travels,
 * the next task's work is already queued).
 */
import { tf, type Tensor } from '../tf';
import { maxBufferBytes } from './deviceLimits';

export type HostArray = Float32Array | Int32Array;

/** Output tensors, and what to build from their data (in the same order) once on the host. */
export interface Readback<R> {
  tensors: Tensor[];
  build: (data: HostArray[]) => R;
}

export function readback<R>(tensors: Tensor[], build: (data: HostArray[]) => R): Readback<R> {
  return { tensors, build };
}

/** The same tensors, with more made of the result. */
export function mapReadback<R, S>(r: Readback<R>, f: (result: R) => S): Readback<S> {
  return { tensors: r.tensors, build: (data) => f(r.build(data)) };
}

/** Two readbacks as one (read in the same transfers). */
export function joinReadbacks<A, B, R>(a: Readback<A>, b: Readback<B>, f: (a: A, b: B) => R): Readback<R> {
  const n = a.tensors.length;
  return { tensors: [...a.tensors, ...b.tensors], build: (data) => f(a.build(data.slice(0, n)), b.build(data.slice(n))) };
}

/** Reads every tensor (then disposes them all) and builds the result. */
export async function download<R>(r: Readback<R>): Promise<R> {
  try {
    return r.build(await readAll(r.tensors));
  } finally {
    tf.dispose(r.tensors);
  }
}

async function readAll(tensors: Tensor[]): Promise<HostArray[]> {
  const out = new Array<HostArray>(tensors.length);
  await Promise.all(transfers(tensors).map((indices) => readJoined(tensors, indices, out)));
  return out;
}

/** Groups of tensors read together: one dtype each, each group within the device's largest buffer. */
function transfers(tensors: Tensor[]): number[][] {
  const limit = maxBufferBytes();
  const open = new Map<string, { indices: number[]; bytes: number }>();
  const groups: number[][] = [];
  tensors.forEach((t, i) => {
    const bytes = t.size * 4;
    let g = open.get(t.dtype);
    if (!g || g.bytes + bytes > limit) {
      g = { indices: [], bytes: 0 };
      open.set(t.dtype, g);
      groups.push(g.indices);
    }
    g.indices.push(i);
    g.bytes += bytes;
  });
  return groups;
}

async function readJoined(tensors: Tensor[], indices: number[], out: HostArray[]): Promise<void> {
  if (indices.length === 1) {
    out[indices[0]] = (await tensors[indices[0]].data()) as HostArray;
    return;
  }
  // One transfer: the flattened tensors concatenated on the device, cut apart again on the host.
  const joined = tf.tidy(() => tf.concat(indices.map((i) => tf.reshape(tensors[i], [-1]))));
  let all: HostArray;
  try {
    all = (await joined.data()) as HostArray;
  } finally {
    joined.dispose();
  }
  let at = 0;
  for (const i of indices) {
    out[i] = all.subarray(at, at + tensors[i].size);
    at += tensors[i].size;
  }
}
