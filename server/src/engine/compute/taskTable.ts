/**
 * The engine's task table: every stage's device half (its `tasks.ts`) composed into one `Task` union and
 * one handler per kind, for the compute threads (compute/computeThread.ts) and the calling thread
 * (compute/computePool.ts) alike.
 *
 * Why a folder of its own, right above the stages (ENGINE_LAYERS): the table must see every stage's tasks,
 * so it sits above the highest stage with a device half (gradindex/), while worker/ below the stages keeps
 * the pool, batching and thread plumbing generic and each stage takes "a pool that runs my tasks"
 * (worker/taskPool.ts). It is not runs/: eval/, the demo's trainer, benchmarks and tests open pools too,
 * and the worker thread's bundle (dist/worker.js) holds this folder, not the run orchestration.
 */
import { captureHandlers, type CaptureResults, type CaptureTask } from '../capture/tasks';
import { ekfacHandlers, type EkfacResults, type EkfacTask } from '../ekfac/tasks';
import { indexHandlers, type IndexResults, type IndexTask } from '../gradindex/tasks';
import { inferenceHandlers, type InferenceResults, type InferenceTask } from '../inference/tasks';
import { scoreHandlers, type ScoreResults, type ScoreTask } from '../score/tasks';
import { trainHandlers, type TrainResults, type TrainTask } from '../train/tasks';
import { tf } from '../tf';
import type { StageHandlers } from '../device/deviceState';
import type { TaskOf as KindOf } from '../worker/taskPool';

type MemoryTask = { kind: 'memory' };
interface MemoryResults {
  memory: { numTensors: number; numBytes: number };
}

export type Task = CaptureTask | EkfacTask | ScoreTask | InferenceTask | IndexTask | TrainTask | MemoryTask;
export type TaskResults = CaptureResults & EkfacResults & ScoreResults & InferenceResults & IndexResults & TrainResults & MemoryResults;
export type TaskOf<K extends Task['kind']> = KindOf<Task, K>;

export const TASK_HANDLERS: StageHandlers<Task, TaskResults> = {
  ...captureHandlers,
  ...ekfacHandlers,
  ...scoreHandlers,
  ...inferenceHandlers,
  ...indexHandlers,
  ...trainHandlers,
  memory: () => {
    const m = tf.memory();
    return { numTensors: m.numTensors, numBytes: m.numBytes };
  },
};
