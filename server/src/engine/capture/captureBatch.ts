/** Per-token captures copied to the host: a_t and g_t of every tracked module for every real token. */
import { readback } from '../device/readback';
import type { TfModel } from '../model/tfModel';
import { withDeviceCaptures } from './deviceCaptures';
import { labelsPerSequence, lossPerSequence } from './targets';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export async function captureBatch(model: TfModel, sequences: CaptureSequence[], options: CaptureOptions): Promise<CaptureResult> {
  if (sequences.length === 0) return { losses: [], tokenCounts: [], modules: [], labels: [] };
  return withDeviceCaptures(model, sequences, options, (c) =>
    readback([c.tokenLosses, c.labels, ...c.modules.flatMap(({ a, g }) => [a, g])], ([losses, labels, ...ag]) => ({
      losses: lossPerSequence(c.B, c.L, losses),
      tokenCounts: c.tokenCounts,
      labels: labelsPerSequence(sequences, c.L, c.targetMask, labels),
      modules: c.modules.map(({ module, a, g }, i) => ({
        name: module.name,
        inDim: a.shape[1],
        outDim: g.shape[1],
        a: realRows(ag[2 * i] as Float32Array, a.shape[1], c.L, c.tokenCounts),
        g: realRows(ag[2 * i + 1] as Float32Array, g.shape[1], c.L, c.tokenCounts),
      })),
    })),
  );
}

/** Copies each sequence's real rows out of a padded [B·L × width] matrix. */
function realRows(src: Float32Array, width: number, L: number, counts: number[]): Float32Array {
  const out = new Float32Array(counts.reduce((x, y) => x + y, 0) * width);
  let row = 0;
  counts.forEach((n, b) => {
    out.set(src.subarray(b * L * width, (b * L + n) * width), row * width);
    row += n;
  });
  return out;
}
