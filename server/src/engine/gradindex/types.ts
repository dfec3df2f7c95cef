/**
 * The gradient index (docs/INDEX.md): for every document, a fixed-size sketch of its gradient in the EK-FAC
 * eigenbasis, R_d = Q_Sᵀ G_d Q_A per tracked module, such that a query's sketch dotted with it estimates
 * their influence Σ R_q R_d / (Λ + λ). Sketches (`SketchKind`): the top eigen-subspace of each module
 * (eigen), a seeded Kronecker random projection (kron), a count-sketch of all modules at once (count), or
 * the blocks of entries that weigh most for each document (blocks, layout 3's rows).
 */
import type { LexicalFile } from './lexical';
import type { RescoreChunk, RescoreSettings } from './rescore/layout';

/** Entries per block of the blocks sketch: a document keeps whole blocks of consecutive entries. */
export const BLOCK = 8;

/** Values of a dense sketch segment are padded to a multiple of this (one SIMD load). */
export const LANES = 16;

/**
 * The version this tool writes and reads (8: the rescoring tier stores each factor's values together; 7: a
 * rescoring tier of low-rank gradient factors beside the sketch; 6: fixed-size sketches, chunk checksums
 * from four interleaved states; 5 the same rows with a one-state checksum; 3 and 4 held layout 3's blocks
 * only).
 */
export const INDEX_VERSION = 8;

export const SKETCH_KINDS = ['eigen', 'kron', 'count', 'blocks'] as const;
export type SketchKind = (typeof SKETCH_KINDS)[number];

/** What a document's row holds, as asked for (`--sketch kind:size`). */
export interface SketchSettings {
  kind: SketchKind;
  /** eigen, kron: "kSxkA" per module; count: total dimensions; blocks: entries per module ("50%" or a count). */
  size: string;
  /** Seed of the random projections (kron, count). */
  seed: number;
  maxLen: number;
  /** blocks only: λ per module the entries were weighed with when choosing them. */
  damping?: Record<string, number>;
}

export interface IndexModule {
  name: string;
  outDim: number;
  inDim: number;
  /** eigen, kron: the module's sketch is kS × kA values (clipped to out × in). */
  kS?: number;
  kA?: number;
  /** blocks: the module's entries in the transposed order (column i·out + o), BLOCK at a time, and those a document keeps. */
  blocks?: number;
  kept?: number;
}

/**
 * How a chunk holds its rows, whatever the sketch: per row `scales` float32, `positions` block numbers and
 * `values` int8; chunk sections hold every row's scales, then every row's positions, then every row's values.
 */
export interface RowLayout {
  scales: number;
  positions: number;
  positionType: 'U16' | 'U32';
  values: number;
  /** Values under each scale: dense sketches, the segment's width (a multiple of LANES); blocks, kept blocks × BLOCK. */
  segments: number[];
}

export interface IndexChunk {
  file: string;
  /** The 128-bit checksum of the file (scan.wat's `checksum`, 32 hex digits), checked on every load. */
  checksum: string;
  /** Row offset of the chunk's first document. */
  first: number;
  count: number;
}

/** The factor stages an index was built from: their files' sha256 as the factor manifest records them. */
export interface IndexFactors {
  path: string;
  strategy: string;
  eigenSha256: string;
  /** Only when rows depend on Λ (blocks); dense sketches apply Λ at query time. */
  lambdaSha256: string | null;
}

export interface IndexManifest {
  version: typeof INDEX_VERSION;
  tool: string;
  model: { fingerprint: string; path: string };
  corpus: { fingerprint: string; path: string };
  factors: IndexFactors;
  sketch: SketchSettings;
  modules: IndexModule[];
  rows: RowLayout;
  documents: number;
  chunks: IndexChunk[];
  /** The rescoring tier (rescore/layout.ts): rank-r factors of every document's gradient, read for a query's candidates. */
  rescore: (RescoreSettings & { chunks: RescoreChunk[] }) | null;
  /** BM25 over the documents' text (lexical.ts), for candidates. */
  lexical: LexicalFile | null;
  /** documents.json: per row, the document's index, id, source, tokens, file and line. */
  documentsFile: string;
  documentsSha256: string;
  shard: string | null;
  /** sha256 of the canonical JSON of every other field (util/seal.ts), checked on load. */
  metadataSha256?: string;
}
