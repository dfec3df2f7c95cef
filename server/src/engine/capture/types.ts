/** Inputs and outputs of per-token MLP captures, the primitive EK-FAC is built on. Plain data, no tensors. */

export type LabelMode = 'actual' | 'sampled';

export interface CaptureSequence {
  /** Token ids including the leading BOS. */
  tokens: number[];
  /**
   * Which tokens are prediction targets: targets[j] = 1 counts the loss of predicting token j from
   * position j-1 (j ≥ 1). Absent: every token after the first (a document's loss). A query masks its prompt.
   */
  targets?: number[];
  /** Key of this sequence's label-sampling stream; defaults to a hash of its tokens. */
  sampleKey?: number;
}

export interface CaptureOptions {
  /** actual next tokens, or labels sampled from the model's own distribution ("true Fisher"). */
  labels: LabelMode;
  /** Seed for sampled labels. */
  seed: number;
}

/** The actual next tokens as labels (scores, index rows, queries). */
export const ACTUAL_LABELS: CaptureOptions = { labels: 'actual', seed: 0 };

/** One tracked module's captures over all real (non-padding) tokens of the batch, sequences concatenated. */
export interface ModuleCapture {
  name: string;
  /** Columns of a: the module's input width, plus one constant-1 column when it has a bias. */
  inDim: number;
  outDim: number;
  /** a_t, [tokens × inDim] row-major. */
  a: Float32Array;
  /** g_t = ∂L/∂y_t, [tokens × outDim] row-major. */
  g: Float32Array;
}

export interface CaptureResult {
  /** Summed cross-entropy (nats) of each sequence's targets under the labels used. */
  losses: number[];
  /** Real tokens of each sequence (rows it contributes to every a and g). */
  tokenCounts: number[];
  modules: ModuleCapture[];
  /** The labels used per sequence (length tokens-1, −1 where not a target); for sampled mode checks. */
  labels: number[][];
}
