/**
 * What a stage sees of the compute threads: a pool that runs its tasks. The pool is generic in its tasks
 * (worker/ knows no stage); a stage types the pool it takes by the tasks it submits, e.g.
 * `TaskPool<EkfacTask, EkfacResults>`, and the engine's pool over every stage's tasks (compute/) is one.
 */
import type { BackendInfo } from '../device/backend';

/** A task is a plain message whose kind names its handler. */
export interface AnyTask {
  kind: string;
}

/** Per task kind, its handler's result. */
export type ResultsByKind<T extends AnyTask> = { [K in T['kind']]: unknown };

/** The task of kind K among T. */
export type TaskOf<T extends AnyTask, K extends T['kind']> = Extract<T, { kind: K }>;

/** interactive: a person waits (hovers); background: batch runs, fits, index builds. */
export type Priority = 'interactive' | 'background';

export interface RunOptions {
  priority?: Priority;
  /** Aborting drops the task if it has not started (a started task runs to its end; its result is dropped). */
  signal?: AbortSignal;
  /**
   * Buffers of the task that `run` hands to a worker thread without copying them (the caller gives them
   * up: they are detached once the task starts). Ignored by `broadcast` and `each`, and in this thread.
   */
  transfer?: ArrayBuffer[];
}

/**
 * A pool that can run the tasks T, with the results R (a task's result type follows from its kind). A pool
 * of more tasks is one of fewer: the engine's pool is a `TaskPool` of each stage's tasks.
 */
export interface TaskPool<T extends AnyTask, R extends ResultsByKind<T>> {
  /** The threads tasks run on (at least 1). */
  readonly size: number;
  /** Sequences per batch when the caller does not choose. */
  readonly batchSize: number;
  readonly backend: BackendInfo;
  /** Runs one task on the first free thread. */
  run<K extends T>(task: K, o?: RunOptions): Promise<R[K['kind']]>;
  /** Runs a task on every thread (uploads, memory checks). */
  broadcast<K extends T>(task: K, o?: RunOptions): Promise<R[K['kind']][]>;
  /** Runs one task per thread, made for that thread's part (part i of `parts`), in thread order. */
  each<K extends T>(make: (part: number, parts: number) => K, o?: RunOptions): Promise<R[K['kind']][]>;
  /** Holds back background tasks until the returned release is called (leases nest). */
  foreground(): () => void;
}
