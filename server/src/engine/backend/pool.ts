/**
 * Spreads tasks over compute threads. wasm and cpu are single-threaded in Node, so both cores are used
 * through worker_threads, one backend each; native backends (tfjs-node) and GPUs run in this thread, a GPU
 * with large batches. Callers split work into tasks that do not depend on the number of threads or the
 * batch size, so results never do either (beyond float32 rounding for the batch size).
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { initBackend, type BackendInfo, type BackendRequest } from './backend';
import { defaultBatchSize } from './deviceLimits';
import { TaskRunner, type Task, type TaskResult } from './tasks';
import type { WorkerMessage, WorkerReply } from './worker';
import type { Checkpoint } from '../model/types';
import { trackedModules } from '../model/tfModel';

export interface PoolOptions {
  backend?: BackendRequest;
  /** Worker threads; 0 runs tasks in this thread; undefined: one per core when the backend wants workers. A GPU always runs in this thread. */
  workers?: number;
  /** Tracked MLP linears (by name); all of them by default. */
  modules?: string[];
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

class ComputeWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  busy = 0;

  constructor(script: string) {
    // From source (tests, tsx), the worker registers tsx's CommonJS hooks itself: loader hooks of the
    // parent thread do not reach worker threads.
    this.worker = script.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true })
      : new Worker(script);
    this.worker.on('message', (reply: WorkerReply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (reply.ok) p.resolve(reply.result);
      else p.reject(Object.assign(new Error(reply.error), { stack: reply.stack }));
    });
    this.worker.on('error', (e) => this.failAll(e));
    this.worker.on('exit', (code) => this.failAll(new Error(`compute worker exited (code ${code})`)));
  }

  request(msg: WorkerMessage): Promise<unknown> {
    const id = this.nextId++;
    this.busy++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id });
    }).finally(() => this.busy--);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }
}

/** The worker script beside this module: worker.ts when running from source, worker.js in the bundles. */
function workerScript(): string {
  const ts = join(__dirname, 'worker.ts');
  return __filename.endsWith('.ts') && existsSync(ts) ? ts : join(__dirname, 'worker.js');
}

export class ComputePool {
  private constructor(
    readonly backend: BackendInfo,
    /** Sequences per batch when the caller does not choose: 8 on CPUs, what the adapter holds on a GPU. */
    readonly batchSize: number,
    private readonly workers: ComputeWorker[],
    private readonly local: TaskRunner | undefined,
  ) {}

  static async create(checkpoint: Checkpoint, options: PoolOptions = {}): Promise<ComputePool> {
    const backend = await initBackend(options.backend ?? 'auto');
    const count = backend.gpu ? 0 : (options.workers ?? (backend.wantsWorkers ? availableParallelism() : 0));
    const tracked = trackedModules(checkpoint.config).filter((m) => !options.modules || options.modules.includes(m.name));
    const batchSize = defaultBatchSize({ config: checkpoint.config, tracked }, backend.gpu);
    if (count === 0) {
      const local = new TaskRunner();
      local.load(checkpoint, options.modules);
      return new ComputePool(backend, batchSize, [], local);
    }
    const workers = Array.from({ length: count }, () => new ComputeWorker(workerScript()));
    try {
      await Promise.all(workers.map((w) => w.request({ type: 'init', backend: backend.name, checkpoint, modules: options.modules })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    return new ComputePool(backend, batchSize, workers, undefined);
  }

  get size(): number {
    return Math.max(1, this.workers.length);
  }

  /** Runs one task on the least busy thread. */
  async run<T extends Task>(task: T): Promise<TaskResult<T>> {
    if (this.local) return this.local.run(task);
    const worker = this.workers.reduce((a, b) => (b.busy < a.busy ? b : a));
    return (await worker.request({ type: 'task', task })) as TaskResult<T>;
  }

  /** Runs a task on every thread (e.g. memory checks). */
  async broadcast<T extends Task>(task: T): Promise<TaskResult<T>[]> {
    if (this.local) return [await this.local.run(task)];
    return (await Promise.all(this.workers.map((w) => w.request({ type: 'task', task })))) as TaskResult<T>[];
  }

  /** Runs one task per thread, made for that thread's part (part i of `parts`), in thread order. */
  async each<T extends Task>(make: (part: number, parts: number) => T): Promise<TaskResult<T>[]> {
    if (this.local) return [await this.local.run(make(0, 1))];
    const n = this.workers.length;
    return (await Promise.all(this.workers.map((w, i) => w.request({ type: 'task', task: make(i, n) })))) as TaskResult<T>[];
  }

  async dispose(): Promise<void> {
    this.local?.dispose();
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
