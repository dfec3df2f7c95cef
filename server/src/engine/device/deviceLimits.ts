/**
 * How much a batch may hold on the device. WebGPU refuses any buffer above the adapter's
 * maxStorageBufferBindingSize / maxBufferSize (and then computes garbage, with a warning on the console),
 * so a batch is checked against those limits before it runs, and the default batch is the largest that
 * fits them and a working-memory budget: WebGPU does not say how much memory the card has, so the budget
 * is 2 GiB unless INFLUENCE_LENS_GPU_MEMORY_GIB says more. The native and CPU backends have no such
 * per-buffer limit.
 */
import { activationBytesPerToken } from '../model/memory';
import type { ModelConfig } from '../model/types';
import { tf } from '../tf';

/** Sequences per batch on CPU backends (what the engine always used) and at most on a GPU. */
export const CPU_BATCH = 8;
export const GPU_MAX_BATCH = 64;
/** Memory one batch may hold on a GPU while it runs (the forward pass's activations, their gradients…). */
export function gpuWorkingBytes(env: NodeJS.ProcessEnv = process.env): number {
  const gib = Number(env.INFLUENCE_LENS_GPU_MEMORY_GIB);
  return (Number.isFinite(gib) && gib > 0 ? gib : 2) * 2 ** 30;
}
/** Length assumed for the default batch: the engine's default maximum length (a model's context, capped). */
const DEFAULT_LENGTH_CAP = 512;

const BYTES = 4; // float32 and int32

/** The shape of a model as far as device memory is concerned. */
export interface ModelShape {
  config: ModelConfig;
  /** Tracked linears: inDim includes a bias column. */
  tracked: { name: string; inDim: number; outDim: number }[];
}

/** The device's largest buffer in bytes (webgpu), or Infinity where there is no such limit. */
export function maxBufferBytes(): number {
  if (tf.getBackend() !== 'webgpu') return Infinity;
  const limits = (tf.backend() as unknown as { device?: { limits: { maxStorageBufferBindingSize: number; maxBufferSize: number } } }).device?.limits;
  return limits ? Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize) : Infinity;
}

/** The largest tensor one sequence of L tokens contributes to a batch, and what it is. */
export function largestPerSequence(model: ModelShape, L: number): { bytes: number; what: string } {
  const c = model.config;
  const widest = model.tracked.reduce((a, m) => (m.inDim * m.outDim > a.inDim * a.outDim ? m : a), model.tracked[0] ?? { name: '', inDim: 0, outDim: 0 });
  const candidates = [
    { elements: L * c.vocabSize, what: `the logits (${L} tokens × vocabulary ${c.vocabSize})` },
    { elements: c.nHeads * L * L, what: `the attention scores (${c.nHeads} heads × ${L}² tokens)` },
    { elements: L * c.hiddenDim, what: `the MLP activations (${L} tokens × ${c.hiddenDim})` },
    { elements: widest.inDim * widest.outDim, what: `the per-document gradient of ${widest.name} (${widest.outDim} × ${widest.inDim})` },
  ];
  const top = candidates.reduce((a, b) => (b.elements > a.elements ? b : a));
  return { bytes: top.elements * BYTES, what: top.what };
}

/** What one token of a capture pass holds at its peak (model/memory.ts, where the model's memory is stated). */
export function workingBytesPerToken(model: ModelShape, L: number): number {
  return activationBytesPerToken(model.config, L);
}

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 2 : 0)} MiB`;

/** Refuses, with what to do instead, a batch whose largest tensor the device cannot hold. */
export function checkBatchFits(model: ModelShape, B: number, L: number, limit = maxBufferBytes()): void {
  const per = largestPerSequence(model, L);
  if (B * per.bytes <= limit) return;
  const most = Math.floor(limit / per.bytes);
  const device = `the adapter allows ${mib(limit)} per buffer`;
  if (most === 0) {
    throw new Error(
      `the model does not fit this device: one sequence of ${L} tokens needs ${mib(per.bytes)} for ${per.what}, and ${device}; ` +
        'use a shorter maximum length or another backend (wasm)',
    );
  }
  throw new Error(`a batch of ${B} sequences of ${L} tokens needs ${mib(B * per.bytes)} for ${per.what}, and ${device}: use a batch size of at most ${most}`);
}

/** Sequences per batch when none is asked for: CPU_BATCH, or on a GPU the most that fits (at least 1). */
export function defaultBatchSize(model: ModelShape, gpu: boolean, limit = maxBufferBytes(), working = gpuWorkingBytes()): number {
  if (!gpu) return CPU_BATCH;
  const L = Math.min(model.config.maxSeqLen, DEFAULT_LENGTH_CAP);
  const byBuffer = Math.floor(limit / largestPerSequence(model, L).bytes);
  const byMemory = Math.floor(working / (L * workingBytesPerToken(model, L)));
  return Math.max(1, Math.min(GPU_MAX_BATCH, byBuffer, byMemory));
}
