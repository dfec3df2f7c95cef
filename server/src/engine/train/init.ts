/** Seeded initialisation of a Llama checkpoint for training (GPT-2 style scales). */
import type { Checkpoint, HostTensor, ModelConfig, Weights } from '../model/types';
import { Rng } from '../util/random';

export function initLlama(config: ModelConfig, seed: number): Checkpoint {
  if (config.architecture !== 'llama') throw new Error('initLlama builds llama checkpoints only');
  const rng = new Rng(seed, 0x1a11a);
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize } = config;
  const hd = dim / nHeads;
  const normal = (shape: number[], std: number): HostTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
    return { shape, data };
  };
  const ones = (n: number): HostTensor => ({ shape: [n], data: new Float32Array(n).fill(1) });
  const w: Weights = new Map();
  const std = 0.02;
  // Residual projections are scaled down so the residual stream's variance does not grow with depth.
  const residual = std / Math.sqrt(2 * nLayers);
  w.set('embed', normal([vocabSize, dim], std));
  for (let i = 0; i < nLayers; i++) {
    const p = `layers.${i}.`;
    w.set(p + 'attn_norm', ones(dim));
    w.set(p + 'wq', normal([nHeads * hd, dim], std));
    w.set(p + 'wk', normal([nKvHeads * hd, dim], std));
    w.set(p + 'wv', normal([nKvHeads * hd, dim], std));
    w.set(p + 'wo', normal([dim, nHeads * hd], residual));
    w.set(p + 'mlp_norm', ones(dim));
    w.set(p + 'w1', normal([hiddenDim, dim], std));
    w.set(p + 'w3', normal([hiddenDim, dim], std));
    w.set(p + 'w2', normal([dim, hiddenDim], residual));
  }
  w.set('final_norm', ones(dim));
  // Tied output layer: the same data as the embedding.
  w.set('lm_head', { shape: [vocabSize, dim], data: w.get('embed')!.data });
  return { config, weights: w, source: { kind: 'huggingface', path: `init:seed=${seed}`, files: [] } };
}

/** Whether a weight is tied to another (it is then trained through that one). */
export function isTied(w: Weights, name: string): boolean {
  return name === 'lm_head' && w.get('lm_head')?.data === w.get('embed')?.data;
}
