/**
 * The results folder, the format every later feature reads (documented in docs/RESULTS.md):
 * results.json (metadata, documents, queries) and scores.f32 (raw influence, little-endian float32,
 * row-major queries × documents, in the order of the two lists). Per-nat score = raw / nllNats.
 */

export interface ResultsDocument {
  /** Position in the corpus (0-based, among accepted documents): unique, stable for a corpus fingerprint. */
  index: number;
  id: string;
  source: string;
  /** Tokens scored, [BOS] included, after truncation to the maximum length. */
  tokens: number;
  file: string;
  /** 1-based line where the document starts (JSONL and `<|endoftext|>` text), for display. */
  line?: number;
  /** 0-based row of a Parquet file (as pandas and `datasets` number rows), for display. */
  row?: number;
  /** With index scoring: whether this document's scores were recomputed exactly (--rerank). */
  exact?: boolean;
}

export interface ResultsQuery {
  id: string;
  kind: string | null;
  task: string | null;
  prompt: string;
  completion: string;
  /** Whether the completion is the model's own greedy generation. */
  generated: boolean;
  answer: string | null;
  /** Information content of the completion (summed NLL, nats): divide raw scores by it for per-nat scores. */
  nllNats: number;
  promptTokens: number[];
  completionTokens: number[];
}

/** The results format this tool writes and reads (2: results.json carries a metadata checksum). */
export const RESULTS_VERSION = 2;

export interface ResultsFile {
  version: typeof RESULTS_VERSION;
  tool: string;
  createdAt: string;
  model: { path: string; fingerprint: string; architecture: string };
  corpus: { path: string; fingerprint: string; documents: number; skipped: number; skippedIssues: { file: string; line?: number; reason: string }[] };
  factors: {
    path: string;
    strategy: string;
    fisher: string;
    documents: number | null;
    tokens: number | null;
    /** sha256 of each factor stage file the scores used, as the factor manifest records it (absent in older results). */
    stages?: Record<string, string>;
  };
  strategy: string;
  /** λ per module. */
  damping: Record<string, number>;
  rank: number | null;
  method: {
    /** exact: a full corpus pass; index: the gradient index (approximate unless a document is marked exact). */
    scoring: 'exact' | 'index';
    contraction: Record<string, 'dense' | 'lowrank'>;
    maxLen: number;
    /** "i/n": this folder holds shard i of n only (merge every shard before analysing); null: the whole corpus. */
    shard: string | null;
    /** Set by merge --results: the number of shards joined (all of them: a merged folder is complete). */
    mergedShards?: number;
    /** The index scored from; `candidatesPerQuery`: documents per query rescored from its rescoring tier (mean). */
    index?: { path: string; sketch: string; bytesPerDocument: number; candidatesPerQuery?: number };
    /** Top and bottom N per query rescored exactly. */
    rerank?: number;
  };
  documents: ResultsDocument[];
  queries: ResultsQuery[];
  /** Queries of the query file that could not be scored (too long, empty completion), with where and why. */
  skippedQueries?: { id: string; file: string; line: number; reason: string }[];
  scoresFile: string;
  /** sha256 of scoresFile, checked on load. */
  scoresSha256: string;
  /** Self-influence I(d, d) per document (little-endian float32), when computed. */
  selfScoresFile?: string;
  selfScoresSha256?: string;
  /** sha256 of the canonical JSON of every other field (util/seal.ts), checked on load. */
  metadataSha256: string;
}

/** What a writer supplies: the version, the data files' names and hashes and the checksum are added. */
export type ResultsMeta = Omit<ResultsFile, 'version' | 'scoresFile' | 'scoresSha256' | 'selfScoresFile' | 'selfScoresSha256' | 'metadataSha256'>;

export interface LoadedResults {
  dir: string;
  results: ResultsFile;
  /** [queries × documents] raw scores. */
  scores: Float32Array;
  self?: Float32Array;
}
