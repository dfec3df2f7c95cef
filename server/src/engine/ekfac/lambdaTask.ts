/**
 * The eigenvalue-correction pass on a compute thread, with the index's rows when `fit --index` asks for
 * them in the same pass: Λ needs gradients under the fit's labels (sampled by default), the index the
 * documents' own next tokens, so the rows take a second backward pass unless the fit uses the empirical
 * Fisher over the same documents (then one capture serves both). The rows come from a hook the index
 * supplies (PassRows), so ekfac/ never imports index/.
 */
import type { StageState, ThreadState } from '../device/deviceState';
import { joinReadbacks, mapReadback, type Readback } from '../device/readback';
import type { Tensor2D } from '../tf';
import type { TfModel } from '../model/tfModel';
import { withDeviceCaptures, type DeviceCaptures } from '../capture/deviceCaptures';
import { ACTUAL_LABELS, type CaptureOptions, type CaptureSequence } from '../capture/types';
import { diagonalSums, ekfacLambdaSums, type ModuleSum } from './reductions';

/** Rows another stage computes from the pass's captures (gradindex/tasks.ts supplies the index's); opaque here. */
export interface PassRows {
  rows(c: DeviceCaptures): Readback<unknown>;
}

class PassRowsSlot implements StageState {
  hook: PassRows | undefined;
  dispose(): void {
    this.hook = undefined; // its owner (the index's device state) disposes it
  }
}

/** This thread's PassRows hook: set by the stage that owns it, read by the Λ task. */
export const passRowsSlot = (s: ThreadState): PassRowsSlot => s.stage('lambdaPassRows', () => new PassRowsSlot());

export interface LambdaTask {
  /** Documents of the fit's sample in this batch (their Λ terms). */
  sequences: CaptureSequence[];
  options: CaptureOptions;
  rotate: boolean;
  /** Documents to sketch into the index (the whole batch), with their actual next tokens; "same": `sequences`. */
  index?: CaptureSequence[] | 'same';
}

export interface LambdaResult {
  sums: ModuleSum[];
  documents: number;
  /** The PassRows hook's rows for the batch (the index's SketchRows), handed to the fit's PassIndex unread. */
  index?: unknown;
}

export async function lambdaTask(
  model: TfModel,
  task: LambdaTask,
  bases: Map<string, { QA: Tensor2D; QS: Tensor2D }>,
  sketch: PassRows | undefined,
): Promise<LambdaResult> {
  const sums = (c: DeviceCaptures) =>
    mapReadback(task.rotate ? ekfacLambdaSums(c, bases) : diagonalSums(c), (s): LambdaResult => ({ sums: s, documents: c.B }));
  if (!task.index) return withDeviceCaptures(model, task.sequences, task.options, sums);
  if (!sketch) throw new Error('no index sketch is set in this compute thread');
  if (task.index === 'same' && task.options.labels === 'actual') {
    return withDeviceCaptures(model, task.sequences, ACTUAL_LABELS, (c) => joinReadbacks(sums(c), sketch.rows(c), (l, index) => ({ ...l, index })));
  }
  const lambda = task.sequences.length > 0 ? await withDeviceCaptures(model, task.sequences, task.options, sums) : { sums: [], documents: 0 };
  const index = task.index === 'same' ? task.sequences : task.index;
  return { ...lambda, index: await withDeviceCaptures(model, index, ACTUAL_LABELS, (c) => sketch.rows(c)) };
}
