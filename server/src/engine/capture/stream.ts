/**
 * Captures over a long stream of sequences with bounded memory: fixed-size batches (independent of the
 * number of threads), a bounded number in flight, results delivered in order, cancellable between batches.
 */
import type { ComputePool } from '../backend/pool';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export interface StreamOptions extends CaptureOptions {
  batchSize: number;
  signal?: AbortSignal;
}

export async function captureStream(
  pool: ComputePool,
  sequences: Iterable<CaptureSequence>,
  options: StreamOptions,
  onBatch: (result: CaptureResult, batch: CaptureSequence[]) => void | Promise<void>,
): Promise<void> {
  const maxInFlight = pool.size * 2;
  const inFlight: { batch: CaptureSequence[]; result: Promise<CaptureResult> }[] = [];
  const capture = { labels: options.labels, seed: options.seed };
  const drainOne = async () => {
    const next = inFlight.shift()!;
    await onBatch(await next.result, next.batch);
  };
  let batch: CaptureSequence[] = [];
  const submit = () => {
    const b = batch;
    batch = [];
    const result = pool.run({ kind: 'capture', sequences: b, options: capture });
    result.catch(() => undefined); // surfaced in order by drainOne
    inFlight.push({ batch: b, result });
  };
  try {
    for (const seq of sequences) {
      options.signal?.throwIfAborted();
      batch.push(seq);
      if (batch.length === options.batchSize) submit();
      while (inFlight.length >= maxInFlight) await drainOne();
    }
    if (batch.length > 0) submit();
    while (inFlight.length > 0) {
      options.signal?.throwIfAborted();
      await drainOne();
    }
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.result));
  }
}
