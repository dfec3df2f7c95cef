/**
 * Spreads tasks over compute threads. wasm and cpu are single-threaded in Node, so both cores are used
 * through worker_threads, one backend each; native backends (tfjs-node) and GPUs run in this thread, a GPU
 * with large batches. Callers split work into tasks that do not depend on the number of threads or the
 * batch size, so results never do either (beyond float32 rounding for the batch size).
 *
 * The pool is generic in its tasks: it is given a task table (the handlers, and the worker entry that holds
 * the same ones) by whoever composes one — the engine's is compute/computePool.ts, above the stages.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { initBackend, type BackendInfo, type BackendRequest } from '../device/backend';
import { defaultBatchSize } from '../device/deviceLimits';
import type { StageHandlers } from '../device/deviceState';
import { TaskRunner } from './taskRunner';
import type { AnyTask, Priority, ResultsByKind, RunOptions, TaskPool } from './taskPool';
import type { WorkerMessage, WorkerReply } from './serveTasks';
import type { Checkpoint } from '../model/types';
import { trackedModules } from '../model/tfModel';
import { availableBytes, checkMemory, threadBytes } from '../model/memory';

export interface PoolOptions {
  backend?: BackendRequest;
  /** Worker threads; 0 runs tasks in this thread; undefined: one per core when the backend wants workers. A GPU always runs in this thread. */
  workers?: number;
  /** Tracked MLP linears (by name); all of them by default. */
  modules?: string[];
}

/** What a pool runs: the handlers, for tasks run in this thread, and the worker entry that serves the same ones. */
export interface TaskTable<T extends AnyTask, R extends ResultsByKind<T>> {
  handlers: StageHandlers<T, R>;
  /** A module that calls serveTasks with the same handlers (a .ts file runs through tsx). */
  workerScript: string;
}

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
}

/** Where tasks run: a worker thread, or this thread (tfjs-node, a GPU, or workers 0). */
interface ComputeThread<T extends AnyTask> {
  /** Tasks started and not yet answered. */
  readonly busy: number;
  /** Tasks it may have started at once. */
  readonly capacity: number;
  runTask(task: T, transfer?: ArrayBuffer[]): Promise<unknown>;
  close(): Promise<unknown>;
}

/**
 * This thread. Its handlers queue their device work before their first await, so a second task may start
 * while the first one's results travel back from a GPU (two at most: an interactive task then waits for
 * at most two tasks' remaining work).
 */
class LocalThread<T extends AnyTask, R extends ResultsByKind<T>> implements ComputeThread<T> {
  busy = 0;
  readonly capacity = 2;

  constructor(
    private readonly runner: TaskRunner<T, R>,
    private readonly onIdle: () => void,
  ) {}

  runTask(task: T): Promise<unknown> {
    this.busy++;
    return this.runner.run(task).finally(() => {
      this.busy--;
      this.onIdle();
    });
  }

  async close(): Promise<void> {
    this.runner.dispose();
  }
}

class ComputeWorker<T extends AnyTask> implements ComputeThread<T> {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  /** Tasks posted and not yet answered. */
  busy = 0;
  /** One at a time: a task waits in the pool's queue, where priorities apply, not in the worker's. */
  readonly capacity = 1;

  constructor(
    script: string,
    private readonly onIdle: () => void,
  ) {
    // From source (tests, tsx), the worker registers tsx's CommonJS hooks itself: loader hooks of the
    // parent thread do not reach worker threads.
    this.worker = script.endsWith('.ts') ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, { eval: true }) : new Worker(script);
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

  runTask(task: T, transfer?: ArrayBuffer[]): Promise<unknown> {
    return this.request({ type: 'task', task }, transfer);
  }

  request(msg: WorkerMessage<T>, transfer: ArrayBuffer[] = []): Promise<unknown> {
    const id = this.nextId++;
    this.busy++;
    return new Promise<unknown>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...msg, id }, transfer);
    }).finally(() => {
      this.busy--;
      this.onIdle();
    });
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  terminate(): Promise<number> {
    return this.worker.terminate();
  }

  close(): Promise<number> {
    return this.terminate();
  }
}

/** A task waiting for a thread: for any thread, or for one (broadcast, each). */
interface Queued<T extends AnyTask> {
  task: T;
  thread?: ComputeThread<T>;
  priority: Priority;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  transfer?: ArrayBuffer[];
}

/**
 * Tasks wait here, not in the threads' message queues: a thread is given one task at a time, interactive
 * tasks before background ones, so a hover waits for at most the task a thread is running. While any
 * foreground lease is held, background tasks are not started at all (a hover's several steps then run
 * back to back instead of interleaving with a batch).
 */
export class ThreadPool<T extends AnyTask, R extends ResultsByKind<T>> implements TaskPool<T, R> {
  private readonly queue: Queued<T>[] = [];
  private leases = 0;
  private threads: ComputeThread<T>[] = [];

  private constructor(
    readonly backend: BackendInfo,
    /** Sequences per batch when the caller does not choose: 8 on CPUs, what the adapter holds on a GPU. */
    readonly batchSize: number,
    /** The workers asked for when more than the machine's available parallelism (the pool has that many). */
    readonly cappedFrom?: number,
  ) {}

  static async create<T extends AnyTask, R extends ResultsByKind<T>>(
    table: TaskTable<T, R>,
    checkpoint: Checkpoint,
    options: PoolOptions = {},
  ): Promise<ThreadPool<T, R>> {
    const backend = await initBackend(options.backend ?? 'auto');
    // Each worker holds a copy of the model: more than one per core only costs memory. A GPU computes in this thread.
    const cores = availableParallelism();
    const requested = backend.gpu ? 0 : (options.workers ?? (backend.wantsWorkers ? cores : 0));
    const count = Math.min(requested, cores);
    const cappedFrom = requested > count ? requested : undefined;
    const tracked = trackedModules(checkpoint.config).filter((m) => !options.modules || options.modules.includes(m.name));
    const batchSize = defaultBatchSize({ config: checkpoint.config, tracked }, backend.gpu);
    // Each thread's model copy, before any is made (a GPU holds one copy in its own memory).
    if (!backend.gpu)
      checkMemory(threadBytes(checkpoint.config, { threads: Math.max(1, count), workers: count }), availableBytes(), {
        file: checkpoint.source.path,
        remedy: 'use fewer --workers or a GPU',
      });
    if (count === 0) {
      const local = new TaskRunner(table.handlers);
      local.load(checkpoint, options.modules);
      const pool = new ThreadPool<T, R>(backend, batchSize);
      pool.threads = [new LocalThread(local, () => pool.dispatch())];
      return pool;
    }
    const pool = new ThreadPool<T, R>(backend, batchSize, cappedFrom);
    const workers = Array.from({ length: count }, () => new ComputeWorker<T>(table.workerScript, () => pool.dispatch()));
    try {
      await Promise.all(workers.map((w) => w.request({ type: 'init', backend: backend.name, checkpoint, modules: options.modules })));
    } catch (e) {
      await Promise.all(workers.map((w) => w.terminate()));
      throw e;
    }
    pool.threads = workers;
    return pool;
  }

  get size(): number {
    return Math.max(1, this.threads.length);
  }

  /** Runs one task on the first free thread. */
  async run<K extends T>(task: K, o: RunOptions = {}): Promise<R[K['kind']]> {
    return (await this.enqueue(task, undefined, o, o.transfer)) as R[K['kind']];
  }

  /** Runs a task on every thread (e.g. memory checks). */
  async broadcast<K extends T>(task: K, o: RunOptions = {}): Promise<R[K['kind']][]> {
    return (await Promise.all(this.threads.map((w) => this.enqueue(task, w, o)))) as R[K['kind']][];
  }

  /** Runs one task per thread, made for that thread's part (part i of `parts`), in thread order. */
  async each<K extends T>(make: (part: number, parts: number) => K, o: RunOptions = {}): Promise<R[K['kind']][]> {
    const n = this.threads.length;
    return (await Promise.all(this.threads.map((w, i) => this.enqueue(make(i, n), w, o)))) as R[K['kind']][];
  }

  /**
   * Holds back background tasks until the returned release is called (leases nest): what a person waits
   * for runs without batch work between its steps.
   */
  foreground(): () => void {
    this.leases++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.leases--;
      this.dispatch();
    };
  }

  /** Tasks waiting for a thread. */
  get waiting(): number {
    return this.queue.length;
  }

  private enqueue(task: T, thread: ComputeThread<T> | undefined, o: RunOptions, transfer?: ArrayBuffer[]): Promise<unknown> {
    o.signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const item: Queued<T> = { task, thread, priority: o.priority ?? 'background', resolve, reject, signal: o.signal, transfer };
      if (o.signal) {
        item.onAbort = () => {
          const i = this.queue.indexOf(item);
          if (i < 0) return; // started: it runs to its end
          this.queue.splice(i, 1);
          reject(o.signal!.reason);
        };
        o.signal.addEventListener('abort', item.onAbort, { once: true });
      }
      this.queue.push(item);
      this.dispatch();
    });
  }

  /** Gives each thread with room the first tasks it may take: interactive before background, in arrival order. */
  private dispatch(): void {
    for (const w of this.threads) {
      while (w.busy < w.capacity) {
        const pick = (p: Priority) => this.queue.findIndex((q) => q.priority === p && (!q.thread || q.thread === w));
        let i = pick('interactive');
        if (i < 0 && this.leases === 0) i = pick('background');
        if (i < 0) break;
        const [item] = this.queue.splice(i, 1);
        if (item.onAbort) item.signal!.removeEventListener('abort', item.onAbort);
        w.runTask(item.task, item.transfer).then(item.resolve, item.reject);
      }
    }
  }

  async dispose(): Promise<void> {
    for (const item of this.queue.splice(0)) item.reject(new Error('the compute pool was closed'));
    await Promise.all(this.threads.map((w) => w.close()));
  }
}
