/** EK-FAC settings and factors (docs/EKFAC.md). Plain data: these cross thread boundaries and go to disk. */

export const STRATEGIES = ['ekfac', 'kfac', 'diagonal', 'identity'] as const;
export type Strategy = (typeof STRATEGIES)[number];
export const FISHER_MODES = ['sampled', 'empirical'] as const;
export type FisherMode = (typeof FISHER_MODES)[number];
/** The fit stages in their order; each strategy needs some of them (strategies.ts). */
export const STAGES = ['covariance', 'eigen', 'lambda'] as const;
export type StageName = (typeof STAGES)[number];

export interface FitSettings {
  strategy: Strategy;
  /** Labels for g: sampled from the model ("true Fisher", default) or the actual next tokens. */
  fisher: FisherMode;
  seed: number;
  /** Tokens per document, [BOS] included. */
  maxLen: number;
  /** Documents used for fitting (the first ones of the corpus). */
  maxDocs: number;
  /** Tracked module names (all MLP linears unless narrowed). */
  modules: string[];
}

/** Sums for the covariance stage of one module, [in×in] and [out×out] row-major. */
export interface CovarianceSums {
  name: string;
  inDim: number;
  outDim: number;
  A: Float64Array;
  S: Float64Array;
}

/** The eigenbases of one module, eigenvectors as columns, eigenvalues descending. */
export interface ModuleEigen {
  name: string;
  inDim: number;
  outDim: number;
  QA: Float64Array;
  eA: Float64Array;
  QS: Float64Array;
  eS: Float64Array;
}

/** What scoring needs per module: the eigenbases (ekfac, kfac) and Λ [out×in] (all but identity). */
export interface ModuleFactors {
  name: string;
  inDim: number;
  outDim: number;
  eigen?: ModuleEigen;
  lambda?: Float64Array;
}
