/**
 * Background jobs (batch runs, fits, index builds): one runs at a time, in order; each reports progress
 * (percentage, tokens/s, ETA) and can be cancelled. Hovers are not jobs: they run at once, at interactive
 * priority on the compute threads (engine/worker/pool.ts), while a job keeps its place.
 */
import { formatDuration, type RunProgress } from './engine/api';
import type { JobStatus } from './protocol';

/** Where a job's progress goes (LSP work-done progress, or nothing). */
export interface ProgressSink {
  report(percentage: number | undefined, message: string): void;
  done(): void;
}

export interface JobContext {
  signal: AbortSignal;
  /** Progress of the engine's run, shown as percentage, tokens/s and time left. */
  progress(p: RunProgress): void;
  /** A plain message (a stage without numbers). */
  say(message: string): void;
}

interface Job {
  id: number;
  title: string;
  abort: AbortController;
  sink: ProgressSink;
  status: JobStatus;
  start: () => void;
}

/** How often progress is sent (LSP traffic, not the engine's pace). */
const REPORT_MS = 250;

export class JobQueue {
  private readonly waiting: Job[] = [];
  private running: Job | undefined;
  private nextId = 1;

  /** `changed` is called whenever the running job or its progress changes (for the status). */
  constructor(private readonly changed: () => void) {}

  /** The job running now. */
  get current(): JobStatus | undefined {
    return this.running?.status;
  }

  get busy(): boolean {
    return this.running !== undefined || this.waiting.length > 0;
  }

  /**
   * Queues a job; resolves with its result when it has run. `cancel` (a request's cancellation) aborts
   * it, waiting or running.
   */
  run<T>(title: string, sink: ProgressSink, work: (ctx: JobContext) => Promise<T>, cancel?: { onCancellationRequested(f: () => void): unknown }): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const abort = new AbortController();
      const job: Job = {
        id: this.nextId++,
        title,
        abort,
        sink,
        status: { id: 0, title },
        start: () => {
          this.running = job;
          this.changed();
          let last = 0;
          const report = (percentage: number | undefined, message: string, force = false) => {
            const now = Date.now();
            if (!force && now - last < REPORT_MS) return;
            last = now;
            job.status = { id: job.id, title, percentage, message };
            sink.report(percentage, message);
            this.changed();
          };
          const ctx: JobContext = {
            signal: abort.signal,
            progress: (p) =>
              report(p.total ? Math.min(100, (100 * p.done) / p.total) : undefined, describeProgress(p), p.total !== undefined && p.done >= p.total),
            say: (message) => report(undefined, message, true),
          };
          work(ctx)
            .then(resolve, reject)
            .finally(() => {
              sink.done();
              this.running = undefined;
              this.changed();
              this.next();
            });
        },
      };
      job.status.id = job.id;
      cancel?.onCancellationRequested(() => this.cancel(job.id));
      abort.signal.addEventListener('abort', () => {
        const i = this.waiting.indexOf(job);
        if (i >= 0) {
          this.waiting.splice(i, 1);
          sink.done();
          reject(abort.signal.reason);
        }
      });
      if (this.running) {
        sink.report(undefined, `waiting for "${this.running.title}" to finish`);
        this.waiting.push(job);
      } else {
        job.start();
      }
    });
  }

  /** Cancels a job by id, or the running one; answers whether there was one. */
  cancel(id?: number): boolean {
    const job = id === undefined ? this.running : [this.running, ...this.waiting].find((j) => j?.id === id);
    if (!job) return false;
    job.abort.abort(new CancelledError(`"${job.title}" was cancelled`));
    return true;
  }

  /** Cancels everything (server shutdown). */
  dispose(): void {
    for (const j of [...this.waiting]) j.abort.abort(new CancelledError('the server is shutting down'));
    this.running?.abort.abort(new CancelledError('the server is shutting down'));
  }

  private next(): void {
    const job = this.waiting.shift();
    job?.start();
  }
}

export class CancelledError extends Error {
  override name = 'CancelledError';
}

/** "scoring corpus 1,200/4,000 · 4,512 tok/s · 1m02s left" */
export function describeProgress(p: RunProgress): string {
  const parts = [`${p.stage} ${p.done.toLocaleString('en-US')}${p.total ? `/${p.total.toLocaleString('en-US')}` : ''}`];
  const seconds = p.elapsedMs / 1000;
  if (p.tokens && seconds > 0) parts.push(`${Math.round(p.tokens / seconds).toLocaleString('en-US')} tok/s`);
  if (p.total && p.done > 0 && p.done < p.total) parts.push(`${formatDuration(Math.max(1, (seconds / p.done) * (p.total - p.done)))} left`);
  return parts.join(' · ');
}
