/**
 * The work a compute thread does, as plain messages. Each stage owns its device-side handlers (its
 * `tasks.ts`); this module only composes them into one dispatcher, which runs the same way in a worker
 * thread or in the calling thread, so results never depend on where a task ran.
 */
import type { Checkpoint } from '../model/types';
import { captureHandlers, type CaptureResults, type CaptureTask } from '../capture/tasks';
import { ekfacHandlers, type EkfacResults, type EkfacTask } from '../ekfac/tasks';
import { indexHandlers, type IndexResults, type IndexTask } from '../gradindex/tasks';
import { inferenceHandlers, type InferenceResults, type InferenceTask } from '../inference/tasks';
import { scoreHandlers, type ScoreResults, type ScoreTask } from '../score/tasks';
import { trainHandlers, type TrainResults, type TrainTask } from '../train/tasks';
import { tf } from '../tf';
import { ThreadState, type StageHandlers } from '../device/deviceState';

type MemoryTask = { kind: 'memory' };
interface MemoryResults {
  memory: { numTensors: number; numBytes: number };
}

export type Task = CaptureTask | EkfacTask | ScoreTask | InferenceTask | IndexTask | TrainTask | MemoryTask;
type TaskResults = CaptureResults & EkfacResults & ScoreResults & InferenceResults & IndexResults & TrainResults & MemoryResults;
export type TaskResult<T extends Task> = TaskResults[T['kind']];
export type TaskOf<K extends Task['kind']> = Extract<Task, { kind: K }>;

const HANDLERS: StageHandlers<Task, TaskResults> = {
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

/** One compute thread's dispatcher over its state (the model and each stage's uploads). */
export class TaskRunner {
  private readonly state = new ThreadState();

  load(checkpoint: Checkpoint, modules?: string[]): void {
    this.state.load(checkpoint, modules);
  }

  /**
   * Runs a task's handler at once: its device work is queued before this returns, so tasks run in the
   * order they were submitted, while a task's read-back may overlap the next one's work.
   */
  async run<T extends Task>(task: T): Promise<TaskResult<T>> {
    // The record pairs each kind with its handler; TypeScript cannot follow that through a union.
    const handler = HANDLERS[task.kind] as unknown as (state: ThreadState, task: T) => TaskResult<T> | Promise<TaskResult<T>>;
    return handler(this.state, task);
  }

  dispose(): void {
    this.state.dispose();
  }
}

/** Buffers a result can hand over without copying. */
export function transferables(result: unknown): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  const visit = (v: unknown, depth: number) => {
    if (v instanceof Float32Array || v instanceof Int32Array) out.add(v.buffer as ArrayBuffer);
    else if (depth < 3 && Array.isArray(v)) v.forEach((x) => visit(x, depth + 1));
    else if (depth < 3 && v && typeof v === 'object') Object.values(v).forEach((x) => visit(x, depth + 1));
  };
  visit(result, 0);
  return [...out];
}
