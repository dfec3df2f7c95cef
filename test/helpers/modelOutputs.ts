/**
 * What the engine computes, in the form the independent oracles (float64 reference forwards, autograd) give
 * it: one sequence's logits, and a module's weight gradient summed from its per-token captures.
 */
import type { CaptureResult } from '../../server/src/engine/capture/types';
import type { Checkpoint } from '../../server/src/engine/model/types';
import { TfModel } from '../../server/src/engine/model/tfModel';
import { tf } from '../../server/src/engine/tf';

/** The tfjs model's logits for one sequence, [T × vocab] flattened. */
export function tfLogits(ckpt: Checkpoint, tokens: number[]): Float32Array {
  const model = new TfModel(ckpt);
  try {
    return tf.tidy(() => model.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32')).dataSync() as Float32Array);
  } finally {
    model.dispose();
  }
}

/** Σ_t g_t a_tᵀ per module in float64, laid out [out × in(+1)] like W (a bias gradient is the last column). */
export function gradientFromCaptures(result: CaptureResult, module: string): Float64Array {
  const m = result.modules.find((x) => x.name === module)!;
  const T = m.a.length / m.inDim;
  const G = new Float64Array(m.outDim * m.inDim);
  for (let t = 0; t < T; t++) {
    for (let o = 0; o < m.outDim; o++) {
      const g = m.g[t * m.outDim + o];
      if (g === 0) continue;
      for (let i = 0; i < m.inDim; i++) G[o * m.inDim + i] += g * m.a[t * m.inDim + i];
    }
  }
  return G;
}
