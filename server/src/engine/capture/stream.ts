/** Captures over a long stream of sequences (see runBatched for batching, ordering and cancellation). */
import type { ComputePool } from '../worker/pool';
import { runBatched } from '../worker/batched';
import type { TaskOf } from '../worker/taskTable';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export interface StreamOptions extends CaptureOptions {
  batchSize: number;
  signal?: AbortSignal;
}

export function captureStream(
  pool: ComputePool,
  sequences: Iterable<CaptureSequence> | AsyncIterable<CaptureSequence>,
  options: StreamOptions,
  onBatch: (result: CaptureResult, batch: CaptureSequence[]) => void | Promise<void>,
): Promise<void> {
  const capture = { labels: options.labels, seed: options.seed };
  return runBatched<CaptureSequence, TaskOf<'capture'>>(
    pool,
    sequences,
    options.batchSize,
    (b) => ({ kind: 'capture' as const, sequences: b, options: capture }),
    onBatch,
    options.signal,
  );
}
