/** The capture stage's device side: per-token captures of a batch, copied to the host. */
import type { StageHandlers } from '../device/deviceState';
import type { TaskPool } from '../worker/taskPool';
import { captureBatch } from './captureBatch';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export type CaptureTask = { kind: 'capture'; sequences: CaptureSequence[]; options: CaptureOptions };

export interface CaptureResults {
  capture: CaptureResult;
}

/** A pool that runs the capture tasks. */
export type CapturePool = TaskPool<CaptureTask, CaptureResults>;

export const captureHandlers: StageHandlers<CaptureTask, CaptureResults> = {
  capture: (s, task) => captureBatch(s.model, task.sequences, task.options),
};
