/** The capture stage's device side: per-token captures of a batch, copied to the host. */
import type { StageHandlers } from '../device/deviceState';
import { captureBatch } from './captureBatch';
import type { CaptureOptions, CaptureResult, CaptureSequence } from './types';

export type CaptureTask = { kind: 'capture'; sequences: CaptureSequence[]; options: CaptureOptions };

export interface CaptureResults {
  capture: CaptureResult;
}

export const captureHandlers: StageHandlers<CaptureTask, CaptureResults> = {
  capture: (s, task) => captureBatch(s.model, task.sequences, task.options),
};
