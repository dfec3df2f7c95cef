/** Captures over a long stream of sequences (see runBatched for batching, ordering and cancellation). */
import type { CapturePool, CaptureResults, CaptureTask } from './tasks';
import type { TaskOf } from '../worker/taskPool';
import { runBatched } from '../worker/batched';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export interface StreamOptions extends CaptureOptions {
  batchSize: number;
  signal?: AbortSignal;
}

export function captureStream(
  pool: CapturePool,
  sequences: Iterable<CaptureSequence> | AsyncIterable<CaptureSequence>,
  options: StreamOptions,
  onBatch: (result: CaptureResult, batch: CaptureSequence[]) => void | Promise<void>,
): Promise<void> {
  const capture = { labels: options.labels, seed: options.seed };
  return runBatched<CaptureSequence, TaskOf<CaptureTask, 'capture'>, CaptureResults>(
    pool,
    sequences,
    options.batchSize,
    (b) => ({ kind: 'capture' as const, sequences: b, options: capture }),
    onBatch,
    options.signal,
  );
}
