/**
 * The memory a model needs, from its config alone, stated before it is spent: a model too large for the
 * machine is refused with a sentence ("needs 31 GB, 22 GB available") instead of a heap crash minutes in.
 * Estimates in bytes; they count what the engine holds, rounded up where it matters.
 */
import { freemem } from 'node:os';
import { InfluenceLensError } from '../errors';
import { family } from './arch/registry';
import { trackedModules } from './tfModel';
import type { ModelConfig } from './types';

export interface ModuleShape {
  name: string;
  inDim: number;
  outDim: number;
  bias?: string;
}

/** Canonical float32 weights (host copy) and what one model copy on a compute thread holds (linears kept in both layouts, a tied head as its own tensor). */
export function weightBytes(c: ModelConfig): { host: number; device: number } {
  const fam = family(c.architecture);
  const slots = fam.slots(c, false);
  const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
  const seen = new Set<string>();
  let host = 0;
  let device = 0;
  for (const s of slots) {
    // A fused HF tensor feeds several slots; its parts add up to it once.
    if (seen.has(s.hf)) continue;
    seen.add(s.hf);
    const n = size(s.hfShape);
    host += n;
    const linear = fam.linears.some((l) => s.canonical === l || s.canonical.endsWith('.' + l));
    device += linear ? 2 * n : n;
  }
  return { host: 4 * host, device: 4 * device };
}

/** EK-FAC factors of the tracked modules while they are fitted: float64 covariances and eigenvectors of A and G, and the eigenvalue correction. */
export function factorBytes(modules: ModuleShape[]): number {
  return modules.reduce((sum, m) => {
    const a = m.inDim + (m.bias ? 1 : 0);
    return sum + 8 * 2 * (a * a + m.outDim * m.outDim) + 8 * a * m.outDim;
  }, 0);
}

/** Memory the operating system can give this process now. */
export function availableBytes(): number {
  const p = process as NodeJS.Process & { availableMemory?: () => number };
  return typeof p.availableMemory === 'function' ? p.availableMemory() : freemem();
}

const gb = (bytes: number) => `${(bytes / 1e9).toFixed(bytes < 1e9 ? 2 : 1)} GB`;

/** Refuses when `parts` add up to more than `available`, saying what needs what. */
export function checkMemory(parts: Record<string, number>, available: number, o: { file?: string; remedy: string }): void {
  // Whole-model figures: the margin left for everything else is the caller's (available is what is free now).
  const total = Object.values(parts).reduce((a, b) => a + b, 0);
  if (total <= available) return;
  const detail = Object.entries(parts)
    .filter(([, b]) => b > 0)
    .map(([what, b]) => `${what} ${gb(b)}`)
    .join(', ');
  throw new InfluenceLensError(
    'OUT_OF_MEMORY',
    `${o.file ? `${o.file}: ` : ''}the model needs ${gb(total)} (${detail}), ${gb(available)} available; ${o.remedy}`,
    { file: o.file },
  );
}

/** What compute threads need for their model copies (a worker also receives its own copy of the host weights). */
export function threadBytes(c: ModelConfig, o: { threads: number; workers: number }): Record<string, number> {
  const w = weightBytes(c);
  return { [`weights on ${o.threads} compute thread(s)`]: o.threads * w.device + o.workers * w.host };
}

/** Refuses a fit whose factors cannot be held, before it starts; `modules` narrows the tracked linears as --modules does. */
export function checkFactorMemory(c: ModelConfig, modules: string[] | undefined, file: string, available = availableBytes()): void {
  const tracked = trackedModules(c).filter((m) => !modules || modules.includes(m.name));
  checkMemory({ [`EK-FAC factors of ${tracked.length} MLP linears`]: factorBytes(tracked) }, available, { file, remedy: 'track fewer with --modules' });
}

/**
 * Activations are stated, not refused: the estimate (activationBytesPerToken, fitted to tf.profile)
 * assumes every sequence is max-len long, and shorter documents need far less.
 */
export function activationWarning(c: ModelConfig, o: { threads: number; batch: number; length: number }, available = availableBytes()): string | undefined {
  const L = Math.min(o.length, c.maxSeqLen);
  const bytes = o.threads * o.batch * L * activationBytesPerToken(c, L);
  if (bytes <= available) return undefined;
  return `warning: batches of ${o.batch} sequences of ${L} tokens on ${o.threads} thread(s) may need up to ${gb(bytes)} of activations, ${gb(available)} available; if the run fails for memory, use a smaller --batch-size, a shorter --max-len, fewer --workers or a GPU`;
}

/**
 * What one token of a capture pass holds at its peak: tfjs keeps every intermediate of the gradient
 * computation until it ends. Fitted to tf.profile's peakBytes of covariance and per-document-gradient
 * tasks (Llamas of width 256 and 512, 4 layers, 128 tokens: 0.77 and 1.48 MB per token, both within 1%).
 */
export function activationBytesPerToken(c: ModelConfig, L: number): number {
  return 4 * (c.nLayers * 5 * (12 * c.dim + 6 * c.hiddenDim + 3 * c.nHeads * L) + 17 * c.vocabSize);
}
