/**
 * One compute thread's dispatcher: its state (the model and each stage's uploads) and a table of handlers,
 * one per task kind. It runs the same way in a worker thread or in the calling thread, so results never
 * depend on where a task ran. Which handlers it holds is its caller's (compute/taskTable.ts): worker/
 * knows no stage.
 */
import type { Checkpoint } from '../model/types';
import { ThreadState, type StageHandlers } from '../device/deviceState';
import type { AnyTask, ResultsByKind } from './taskPool';

export class TaskRunner<T extends AnyTask, R extends ResultsByKind<T>> {
  private readonly state = new ThreadState();

  constructor(private readonly handlers: StageHandlers<T, R>) {}

  load(checkpoint: Checkpoint, modules?: string[]): void {
    this.state.load(checkpoint, modules);
  }

  /**
   * Runs a task's handler at once: its device work is queued before this returns, so tasks run in the
   * order they were submitted, while a task's read-back may overlap the next one's work.
   */
  async run<K extends T>(task: K): Promise<R[K['kind']]> {
    // The record pairs each kind with its handler; TypeScript cannot follow that through a union.
    const handler = this.handlers[task.kind as K['kind']] as unknown as (state: ThreadState, task: K) => R[K['kind']] | Promise<R[K['kind']]>;
    return handler(this.state, task);
  }

  dispose(): void {
    this.state.dispose();
  }
}
