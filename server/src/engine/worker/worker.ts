/** Entry point of a compute worker thread: its own tfjs backend, its own copy of the model. */
import { parentPort } from 'node:worker_threads';
import { initBackend, type BackendRequest } from '../device/backend';
import { TaskRunner, transferables, type Task } from './taskTable';
import type { Checkpoint } from '../model/types';

export type WorkerMessage = { type: 'init'; backend: BackendRequest; checkpoint: Checkpoint; modules?: string[] } | { type: 'task'; task: Task };
export type WorkerRequest = WorkerMessage & { id: number };

export type WorkerReply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string; stack?: string };

const runner = new TaskRunner();
const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

port.on('message', async (msg: WorkerRequest) => {
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
