/**
 * The index's device side: each document's kept blocks in the EK-FAC eigenbasis (build), query vectors
 * (search), and the part of an open index this thread holds and scans.
 */
import { replaceTensors, squareTensor, type StageHandlers, type ThreadState } from '../backend/deviceState';
import { withDeviceCaptures } from '../capture/deviceCaptures';
import { ACTUAL_LABELS, type CaptureSequence } from '../capture/types';
import { tf } from '../tf';
import { indexQueryRows, indexRows, type DeviceIndexModule } from './reductions';
import { IndexPart, type IndexQuery } from './scan';

/** What a thread needs to compute index rows for one module. */
export interface IndexBasisMessage {
  name: string;
  outDim: number;
  inDim: number;
  QA: Float32Array;
  QS: Float32Array;
  /** Per column i·out + o of the transposed rotation, padded to blocks: √Λ / (Λ + λ). */
  weights: Float32Array;
  blocks: number;
  kept: number;
}

export type IndexTask =
  | { kind: 'setIndexBasis'; modules: IndexBasisMessage[] }
  | { kind: 'indexRows'; sequences: CaptureSequence[] }
  | { kind: 'indexQuery'; sequences: CaptureSequence[] }
  | { kind: 'openIndexPart'; dir: string; part: number; parts: number }
  | { kind: 'scanIndexPart'; query: IndexQuery }
  | { kind: 'closeIndexPart' };

export interface IndexResults {
  setIndexBasis: null;
  indexRows: { blocks: Int32Array; values: Float32Array };
  /** Per sequence its completion loss and R_q in the index's order (module after module, transposed, padded). */
  indexQuery: { losses: number[]; vectors: Float32Array };
  /** Documents this thread holds. */
  openIndexPart: number;
  /** Scores of this thread's documents, its chunks in order. */
  scanIndexPart: Float32Array;
  closeIndexPart: null;
}

class IndexDevice {
  basis = new Map<string, DeviceIndexModule>();
  order: string[] = [];
  part: IndexPart | undefined;
  dispose(): void {
    this.basis = replaceTensors(this.basis, []);
    this.part = undefined;
  }
}

const device = (s: ThreadState) => s.stage('index', () => new IndexDevice());

export const indexHandlers: StageHandlers<IndexTask, IndexResults> = {
  setIndexBasis: (s, task) => {
    const d = device(s);
    d.order = task.modules.map((m) => m.name);
    d.basis = replaceTensors(
      d.basis,
      task.modules.map((m) => [
        m.name,
        { QA: squareTensor(m.QA, m.inDim), QS: squareTensor(m.QS, m.outDim), weights: tf.tensor1d(m.weights), blocks: m.blocks, kept: m.kept },
      ]),
    );
    return null;
  },
  indexRows: (s, task) => withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => indexRows(c, device(s).basis, device(s).order)),
  indexQuery: (s, task) => withDeviceCaptures(s.model, task.sequences, ACTUAL_LABELS, (c) => indexQueryRows(c, device(s).basis, device(s).order)),
  openIndexPart: (s, task) => {
    const d = device(s);
    d.part = undefined; // the previous part's memory goes before the next one loads
    d.part = new IndexPart(task.dir, task.part, task.parts);
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
};
