/**
 * What a compute thread holds between tasks, and the contract a stage's device-side handlers follow.
 * The thread's model is shared by every stage; each stage keeps its own long-lived tensors (eigenbases,
 * prepared queries, index bases…) in a slot of its own, uploaded once and replaced, never leaked.
 * Stages import this file; it imports no stage.
 */
import { TfModel } from '../model/tfModel';
import type { Checkpoint } from '../model/types';
import { tf, type Tensor, type Tensor2D } from '../tf';

/** A stage's per-thread state. */
export interface StageState {
  dispose(): void;
}

export class ThreadState {
  private loaded: TfModel | undefined;
  private readonly stages = new Map<string, StageState>();

  load(checkpoint: Checkpoint, modules?: string[]): void {
    this.dispose();
    this.loaded = new TfModel(checkpoint, modules);
  }

  get model(): TfModel {
    if (!this.loaded) throw new Error('no model loaded in this compute thread');
    return this.loaded;
  }

  /** The stage's own state in this thread, made on first use; released with the thread's model. */
  stage<S extends StageState>(key: string, make: () => S): S {
    let s = this.stages.get(key);
    if (!s) {
      s = make();
      this.stages.set(key, s);
    }
    return s as S;
  }

  dispose(): void {
    this.loaded?.dispose();
    this.loaded = undefined;
    for (const s of this.stages.values()) s.dispose();
    this.stages.clear();
  }
}

/**
 * One handler per task kind of a stage: `(thread state, task) → plain result` (no tensors leave a handler).
 * Handlers that read the device are async: they queue all their work first, then read (device/readback.ts).
 */
export type StageHandlers<T extends { kind: string }, R extends { [K in T['kind']]: unknown }> = {
  [K in T['kind']]: (state: ThreadState, task: Extract<T, { kind: K }>) => R[K] | Promise<R[K]>;
};

export function squareTensor(data: Float32Array, n: number): Tensor2D {
  return tf.tensor2d(data, [n, n]);
}

/** Disposes every tensor held by the old map's values (tensors, or objects holding tensors) and returns the new map. */
export function replaceTensors<V>(old: Map<string, V>, entries: [string, V][]): Map<string, V> {
  for (const v of old.values()) tf.dispose(v instanceof tf.Tensor ? v : Object.values(v as object).filter((x): x is Tensor => x instanceof tf.Tensor));
  return new Map(entries);
}
