/** Training's device side: the thread's parameters, their gradients and losses over packed rows. */
import type { StageHandlers, ThreadState } from '../device/deviceState';
import type { TaskPool } from '../worker/taskPool';
import { evalLoss, ParamSet, trainGradients, type ParamMessage } from './gradients';

export type TrainTask =
  { kind: 'setParams'; params: ParamMessage[]; tied: boolean } | { kind: 'trainGrads'; rows: number[][] } | { kind: 'evalLoss'; rows: number[][] };

export interface TrainResults {
  setParams: null;
  trainGrads: { lossSum: number; tokens: number; grads: ParamMessage[] };
  evalLoss: { lossSum: number; tokens: number };
}

/** A pool that runs the training tasks. */
export type TrainPool = TaskPool<TrainTask, TrainResults>;

class Params {
  set: ParamSet | undefined;
  dispose(): void {
    this.set?.dispose();
    this.set = undefined;
  }
}

const params = (s: ThreadState) => s.stage('train', () => new Params());

function requireParams(s: ThreadState): ParamSet {
  const p = params(s).set;
  if (!p) throw new Error('no training parameters set in this compute thread');
  return p;
}

export const trainHandlers: StageHandlers<TrainTask, TrainResults> = {
  setParams: (s, task) => {
    const p = params(s);
    p.dispose();
    p.set = new ParamSet(task.params, task.tied);
    return null;
  },
  trainGrads: (s, task) => trainGradients(s.model, requireParams(s), task.rows),
  evalLoss: (s, task) => evalLoss(s.model, requireParams(s), task.rows),
};
