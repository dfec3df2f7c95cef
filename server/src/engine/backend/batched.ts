/**
 * Streams items through the compute pool in fixed-size batches with bounded memory: batches are formed
 * in input order, independently of the number of threads (so results never depend on it), at most two
 * per thread are in flight, results are delivered in order, and the signal is honoured between batches.
 */
import type { ComputePool, RunOptions } from './pool';
import type { Task, TaskResult } from './tasks';

export async function runBatched<Item, T extends Task>(
  pool: ComputePool,
  items: Iterable<Item> | AsyncIterable<Item>,
  batchSize: number,
  makeTask: (batch: Item[]) => T,
  onResult: (result: TaskResult<T>, batch: Item[]) => void | Promise<void>,
  signal?: AbortSignal,
  run: Omit<RunOptions, 'signal'> = {},
): Promise<void> {
  if (!(batchSize >= 1)) throw new Error(`batch size must be at least 1, got ${batchSize}`);
  const maxInFlight = pool.size * 2;
  const inFlight: { batch: Item[]; result: Promise<TaskResult<T>> }[] = [];
  let batch: Item[] = [];
  const submit = () => {
    const b = batch;
    batch = [];
    const result = pool.run(makeTask(b), { ...run, signal });
    result.catch(() => undefined); // surfaced in order below
    inFlight.push({ batch: b, result });
  };
  const drainOne = async () => {
    const next = inFlight.shift()!;
    await onResult(await next.result, next.batch);
  };
  try {
    for await (const item of items) {
      signal?.throwIfAborted();
      batch.push(item);
      if (batch.length === batchSize) submit();
      while (inFlight.length >= maxInFlight) await drainOne();
    }
    if (batch.length > 0) submit();
    while (inFlight.length > 0) {
      signal?.throwIfAborted();
      await drainOne();
    }
  } finally {
    await Promise.allSettled(inFlight.map((f) => f.result));
  }
}
