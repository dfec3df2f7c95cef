/**
 * The work a compute thread does, as plain messages: the same handler runs in a worker thread or in the
 * calling thread, so results never depend on where a task ran.
 */
import { TfModel } from '../model/tfModel';
import type { Checkpoint } from '../model/types';
import { captureBatch } from '../capture/captureBatch';
import type { CaptureOptions, CaptureResult, CaptureSequence } from '../capture/types';
import { generateGreedy } from '../inference/generate';
import { tokenLosses } from '../inference/loss';
import { tf } from '../tf';

export type Task =
  | { kind: 'capture'; sequences: CaptureSequence[]; options: CaptureOptions }
  | { kind: 'generate'; prompt: number[]; maxNewTokens: number; stopIds: number[] }
  | { kind: 'tokenLosses'; tokens: number[] }
  | { kind: 'memory' };

interface TaskResults {
  capture: CaptureResult;
  generate: number[];
  tokenLosses: number[];
  memory: { numTensors: number; numBytes: number };
}
export type TaskResult<T extends Task> = TaskResults[T['kind']];

/** Per-thread state: the model uploaded to this thread's backend. */
export class TaskRunner {
  private model: TfModel | undefined;

  load(checkpoint: Checkpoint): void {
    this.model?.dispose();
    this.model = new TfModel(checkpoint);
  }

  run<T extends Task>(task: T): TaskResult<T> {
    switch (task.kind) {
      case 'capture':
        return captureBatch(this.requireModel(), task.sequences, task.options) as TaskResult<T>;
      case 'generate':
        return generateGreedy(this.requireModel(), task.prompt, task) as TaskResult<T>;
      case 'tokenLosses':
        return tokenLosses(this.requireModel(), task.tokens) as TaskResult<T>;
      case 'memory': {
        const m = tf.memory();
        return { numTensors: m.numTensors, numBytes: m.numBytes } as TaskResult<T>;
      }
    }
    throw new Error(`unknown task ${(task as Task).kind}`);
  }

  dispose(): void {
    this.model?.dispose();
    this.model = undefined;
  }

  private requireModel(): TfModel {
    if (!this.model) throw new Error('no model loaded in this compute thread');
    return this.model;
  }
}

/** Buffers a result can hand over without copying. */
export function transferables(result: unknown): ArrayBuffer[] {
  const r = result as Partial<CaptureResult>;
  return r.modules ? r.modules.flatMap((m) => [m.a.buffer as ArrayBuffer, m.g.buffer as ArrayBuffer]) : [];
}
