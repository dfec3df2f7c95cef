/**
 * The index's device side: each document's sketch in the EK-FAC eigenbasis (build), query sketches
 * (search), and the part of an open index this thread holds and scans.
 */
import type { StageHandlers, ThreadState } from '../device/deviceState';
import { joinReadbacks } from '../device/readback';
import { tokenQueryTransposed, unpackRows, type RescoreRowsResults, type RescoreRowsTask, type ScoreResults, type ScoreTask } from '../score/tasks';
import type { InferenceResults, InferenceTask } from '../inference/tasks';
import type { TaskPool } from '../worker/taskPool';
import { passRowsSlot } from '../ekfac/lambdaTask';
import { sequenceLosses, withDeviceCaptures } from '../capture/deviceCaptures';
import { ACTUAL_LABELS, type CaptureSequence } from '../capture/types';
import type { SketchBasisMessage } from './projection';
import { DeviceSketch, type RescoreBasisMessage, type SketchRows } from './reductions';
import { IndexPart, type IndexQuery } from './scan';

export type IndexTask =
  | { kind: 'setIndexBasis'; modules: SketchBasisMessage[]; rescore?: RescoreBasisMessage }
  | { kind: 'indexRows'; sequences: CaptureSequence[] }
  | { kind: 'indexQuery'; sequences: CaptureSequence[] }
  | { kind: 'openIndexPart'; dir: string; part: number; parts: number; stream?: boolean }
  | { kind: 'scanIndexPart'; query: IndexQuery }
  | { kind: 'closeIndexPart' }
  | RescoreRowsTask;

export interface IndexResults extends RescoreRowsResults {
  setIndexBasis: null;
  indexRows: SketchRows;
  /** Per sequence its completion loss and its sketch (eigen, kron) or R_q (count, blocks; transposed, padded), module after module. */
  indexQuery: { losses: number[]; vectors: Float32Array };
  /** Documents this thread holds. */
  openIndexPart: number;
  /** Scores of this thread's documents, its chunks in order. */
  scanIndexPart: Float32Array;
  closeIndexPart: null;
}

/** A pool that runs the index's tasks and the scoring ones its queries need (query completions, rescoring). */
export type IndexPool = TaskPool<IndexTask | ScoreTask | InferenceTask, IndexResults & ScoreResults & InferenceResults>;

class IndexDevice {
  sketch: DeviceSketch | undefined;
  part: IndexPart | undefined;
  dispose(): void {
    this.sketch?.dispose();
    this.sketch = undefined;
    this.part = undefined;
  }
}

const device = (s: ThreadState) => s.stage('index', () => new IndexDevice());

/** The sketch uploaded to this thread (setIndexBasis): the index build and the fit's Λ pass use it. */
export function indexSketch(s: ThreadState): DeviceSketch {
  const sketch = device(s).sketch;
  if (!sketch) throw new Error('no index sketch is set in this compute thread');
  return sketch;
}

export const indexHandlers: StageHandlers<IndexTask, IndexResults> = {
  setIndexBasis: (s, task) => {
    const d = device(s);
    d.sketch?.dispose();
    d.sketch = new DeviceSketch(task.modules, task.rescore);
    passRowsSlot(s).hook = d.sketch; // the fit's Λ pass sketches with it (fit --index)
    return null;
  },
  indexRows: (s, task) => withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => indexSketch(s).rows(c)),
  indexQuery: (s, task) =>
    withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) =>
      joinReadbacks(sequenceLosses(c), indexSketch(s).queries(c), (losses, vectors) => ({ losses, vectors })),
    ),
  openIndexPart: (s, task) => {
    const d = device(s);
    d.part = undefined; // the previous part's memory goes before the next one loads
    d.part = new IndexPart(task.dir, task.part, task.parts, task.stream);
    return d.part.documents;
  },
  scanIndexPart: (s, task) => {
    const part = device(s).part;
    if (!part) throw new Error('no index is open in this compute thread');
    return part.scan(task.query);
  },
  closeIndexPart: (s) => {
    device(s).part = undefined;
    return null;
  },
  rescoreRows: (s, task) => indexSketch(s).rescoring.scores(unpackRows(task.rows), tokenQueryTransposed(s), task.queryRank),
  prepareRescoreQuery: async (s) => {
    await indexSketch(s).rescoring.prepareQuery(tokenQueryTransposed(s));
    return null;
  },
};
