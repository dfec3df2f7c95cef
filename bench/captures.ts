/** Per-token capture throughput (forward + backward, a_t and g_t of every tracked module) per backend and worker count. */
import { openComputePool } from '../server/src/engine/compute/computePool';
import type { BackendName, BackendRequest } from '../server/src/engine/device/backend';
import { captureStream } from '../server/src/engine/capture/stream';
import type { Checkpoint } from '../server/src/engine/model/types';

export interface CaptureFigure {
  backend: BackendName;
  workers: number;
  batchSize: number;
  sequences: number;
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export async function benchCaptures(
  m: { checkpoint: Checkpoint },
  sequences: number[][],
  /** A backend, or 'auto': the figure names the one that ran. */
  backend: BackendRequest,
  workers: number,
  batchSize: number,
  log: (s: string) => void,
): Promise<CaptureFigure> {
  const pool = await openComputePool(m.checkpoint, { backend, workers });
  try {
    const seqs = sequences.map((tokens) => ({ tokens }));
    // Warm-up: compile kernels and fill caches on every thread, outside the timing.
    await captureStream(pool, seqs.slice(0, batchSize * pool.size), { batchSize, labels: 'sampled', seed: 0 }, () => undefined);
    let tokens = 0;
    const t0 = performance.now();
    await captureStream(pool, seqs, { batchSize, labels: 'sampled', seed: 0 }, (r) => {
      tokens += r.tokenCounts.reduce((a, b) => a + b, 0);
    });
    const seconds = (performance.now() - t0) / 1000;
    const figure = { backend: pool.backend.name, workers, batchSize, sequences: seqs.length, tokens, seconds, tokensPerSecond: tokens / seconds };
    log(`captures ${figure.backend} × ${workers} worker(s): ${Math.round(figure.tokensPerSecond)} tokens/s (${tokens} tokens in ${seconds.toFixed(1)} s)`);
    return figure;
  } finally {
    await pool.dispose();
  }
}
