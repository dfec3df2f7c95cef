/**
 * The gradient index (docs/INDEX.md): for every document and tracked module, the document gradient
 * rotated into the EK-FAC eigenbasis, R_d = Q_Sᵀ G_d Q_A, kept at the `dim` positions where Λ is
 * largest. Since EK-FAC is diagonal in that basis, a query's score is Σ R_q R_d / (Λ + λ) over the kept
 * positions: exact on them, and the dropped positions are those the damped preconditioner weighs least.
 */

export interface IndexModule {
  name: string;
  outDim: number;
  inDim: number;
  /** Flat positions o·in + i of the kept entries, in descending Λ order. */
  positions: number[];
}

export interface IndexChunk {
  file: string;
  sha256: string;
  /** Row offset of the chunk's first document. */
  first: number;
  count: number;
}

export interface IndexManifest {
  version: 1;
  tool: string;
  model: { fingerprint: string; path: string };
  corpus: { fingerprint: string; path: string };
  /** The factor folder and a hash of its manifest (the eigenbases and Λ the index was built with). */
  factors: { path: string; fingerprint: string; strategy: string };
  settings: { dim: number; maxLen: number; dtype: 'F16' };
  modules: IndexModule[];
  /** Values per document row: Σ over modules of positions.length. */
  rowDim: number;
  documents: number;
  chunks: IndexChunk[];
  /** documents.json: per row, the document's index, id, source, tokens, file and line. */
  documentsFile: string;
  documentsSha256: string;
  shard: string | null;
}
