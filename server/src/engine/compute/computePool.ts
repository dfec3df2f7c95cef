/**
 * The engine's compute pool: worker/'s generic pool over the engine's task table, its worker threads
 * running compute/computeThread.ts. Runs, evaluation, the demo's trainer, benchmarks and tests open it;
 * the stages take it as the `TaskPool` of the tasks they submit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Checkpoint } from '../model/types';
import { ThreadPool, type PoolOptions } from '../worker/pool';
import { TASK_HANDLERS, type Task, type TaskResults } from './taskTable';

export type ComputePool = ThreadPool<Task, TaskResults>;

/** The worker entry beside this module: computeThread.ts when running from source, worker.js in the bundles (esbuild.mjs). */
function workerScript(): string {
  const ts = join(__dirname, 'computeThread.ts');
  return __filename.endsWith('.ts') && existsSync(ts) ? ts : join(__dirname, 'worker.js');
}

/** Loads the model on its compute threads (see ThreadPool.create for how many and where). */
export function openComputePool(checkpoint: Checkpoint, options: PoolOptions = {}): Promise<ComputePool> {
  return ThreadPool.create({ handlers: TASK_HANDLERS, workerScript: workerScript() }, checkpoint, options);
}
