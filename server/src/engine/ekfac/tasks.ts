/**
 * The fitting stages' device side: covariance sums, and the eigenvalue correction in uploaded eigenbases
 * (with the index's rows when fit --index writes them in the same pass).
 */
import { replaceTensors, squareTensor, type StageHandlers, type ThreadState } from '../device/deviceState';
import { withDeviceCaptures } from '../capture/deviceCaptures';
import type { CaptureOptions, CaptureSequence } from '../capture/types';
import type { CaptureResults, CaptureTask } from '../capture/tasks';
import type { TaskPool } from '../worker/taskPool';
import type { Tensor2D } from '../tf';
import { lambdaTask, passRowsSlot, type LambdaResult, type LambdaTask } from './lambdaTask';
import { covarianceSums, type ModuleSum } from './reductions';

/** Eigenbases as uploaded for the eigenvalue-correction stage (float32, eigenvectors as columns). */
export interface BasesMessage {
  name: string;
  inDim: number;
  outDim: number;
  QA: Float32Array;
  QS: Float32Array;
}

export type EkfacTask =
  | { kind: 'covariance'; sequences: CaptureSequence[]; options: CaptureOptions }
  | { kind: 'setBases'; bases: BasesMessage[] }
  | ({ kind: 'lambda' } & LambdaTask);

export interface EkfacResults {
  covariance: { A: ModuleSum[]; S: ModuleSum[]; tokens: number };
  setBases: null;
  lambda: LambdaResult;
}

/** A pool that runs the fit's tasks (and the capture its probe runs). */
export type EkfacPool = TaskPool<EkfacTask | CaptureTask, EkfacResults & CaptureResults>;

class Bases {
  byModule = new Map<string, { QA: Tensor2D; QS: Tensor2D }>();
  dispose(): void {
    this.byModule = replaceTensors(this.byModule, []);
  }
}

const bases = (s: ThreadState) => s.stage('ekfac', () => new Bases());

export const ekfacHandlers: StageHandlers<EkfacTask, EkfacResults> = {
  covariance: (s, task) => withDeviceCaptures(s.model, task.sequences, task.options, covarianceSums),
  setBases: (s, task) => {
    const b = bases(s);
    b.byModule = replaceTensors(
      b.byModule,
      task.bases.map((m) => [m.name, { QA: squareTensor(m.QA, m.inDim), QS: squareTensor(m.QS, m.outDim) }]),
    );
    return null;
  },
  lambda: (s, task) => lambdaTask(s.model, task, bases(s).byModule, task.index ? passRowsSlot(s).hook : undefined),
};
