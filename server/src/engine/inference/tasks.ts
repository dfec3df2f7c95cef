/** Inference's device side: greedy generation and per-token losses of one sequence. */
import type { StageHandlers } from '../device/deviceState';
import { generateGreedy, type LineEndTokens } from './generate';
import { tokenLosses } from './loss';

export type InferenceTask =
  { kind: 'generate'; prompt: number[]; maxNewTokens: number; stopIds: number[]; lineEnd?: LineEndTokens } | { kind: 'tokenLosses'; tokens: number[] };

export interface InferenceResults {
  generate: number[];
  tokenLosses: number[];
}

export const inferenceHandlers: StageHandlers<InferenceTask, InferenceResults> = {
  generate: (s, task) => generateGreedy(s.model, task.prompt, task),
  tokenLosses: (s, task) => tokenLosses(s.model, task.tokens),
};
