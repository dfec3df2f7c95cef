/**
 * The worker thread's side of the pool: answers the pool's messages (init: a backend and the model; task:
 * one task) with a TaskRunner over the handlers it is given. The thread's entry file (compute/computeThread.ts)
 * supplies the handlers, so this file knows no stage.
 */
import { parentPort } from 'node:worker_threads';
import { initBackend, type BackendRequest } from '../device/backend';
import type { StageHandlers } from '../device/deviceState';
import type { Checkpoint } from '../model/types';
import { TaskRunner } from './taskRunner';
import type { AnyTask, ResultsByKind } from './taskPool';

export type WorkerMessage<T extends AnyTask> =
  { type: 'init'; backend: BackendRequest; checkpoint: Checkpoint; modules?: string[] } | { type: 'task'; task: T };
export type WorkerRequest<T extends AnyTask> = WorkerMessage<T> & { id: number };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; stack?: string };

/** Serves the pool's requests in this worker thread until it is terminated. */
export function serveTasks<T extends AnyTask, R extends ResultsByKind<T>>(handlers: StageHandlers<T, R>): void {
  const runner = new TaskRunner(handlers);
  const port = parentPort;
  if (!port) throw new Error('a compute thread must run in a worker thread');

  port.on('message', async (msg: WorkerRequest<T>) => {
    try {
      let result: unknown;
      if (msg.type === 'init') {
        result = await initBackend(msg.backend);
        runner.load(msg.checkpoint, msg.modules);
      } else {
        result = await runner.run(msg.task);
      }
      port.postMessage({ id: msg.id, ok: true, result } satisfies WorkerReply, transferables(result));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      port.postMessage({ id: msg.id, ok: false, error: err.message, stack: err.stack } satisfies WorkerReply);
    }
  });
}

/**
 * Buffers a result can hand over without copying: its typed arrays' (results own them: readbacks and
 * packed rows are made per task). A typed array is never walked: Object.values of a 187 KB row took
 * longer than the row's factorisation.
 */
export function transferables(result: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (ArrayBuffer.isView(v)) {
      if ((v instanceof Float32Array || v instanceof Int32Array || v instanceof Uint8Array) && !Buffer.isBuffer(v) && v.buffer instanceof ArrayBuffer)
        out.add(v.buffer);
    } else if (depth < 3 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (depth < 3 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  visit(result, 0);
  return [...out];
}
