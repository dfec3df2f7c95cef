/**
 * The gradient index (docs/INDEX.md): for every document and tracked module, the document gradient
 * rotated into the EK-FAC eigenbasis, R_d = Q_Sᵀ G_d Q_A, kept in the blocks of entries that matter most
 * for that document. Since EK-FAC is diagonal in that basis, a query's score is Σ R_q R_d / (Λ + λ) over
 * each document's kept entries: exact on them; the dropped ones are those the document barely moves once
 * weighed by the damped preconditioner.
 */

/** Entries per block: a document keeps whole blocks of consecutive entries (one SIMD product each). */
export const BLOCK = 8;

/** The version this tool writes and reads (4: version 3's layout, with a metadata checksum in the manifest). */
export const INDEX_VERSION = 4;

export interface IndexModule {
  name: string;
  outDim: number;
  inDim: number;
  /**
   * Blocks of the module: its entries in the transposed order (column i·out + o of R_d, the order the
   * rotation produces), BLOCK at a time, the last one padded with zeros.
   */
  blocks: number;
  /** Blocks kept per document (chosen per document). */
  kept: number;
}

export interface IndexChunk {
  file: string;
  /** The 128-bit checksum of the file (scan.wat's `checksum`, 32 hex digits), checked on every load. */
  checksum: string;
  /** Row offset of the chunk's first document. */
  first: number;
  count: number;
}

/** How a document's entries are chosen and stored. */
export interface IndexSettings {
  /** What the user asked for: entries per module, or a share such as "50%" (kept in whole blocks). */
  dim: string;
  maxLen: number;
  /** λ per module used to weigh entries when choosing them (the scoring default). */
  damping: Record<string, number>;
  /** Block numbers as uint16 when every module has ≤ 65,536 blocks, else uint32; values int8 × a float32 scale. */
  positions: 'U16' | 'U32';
  values: 'I8';
}

export interface IndexManifest {
  version: typeof INDEX_VERSION;
  tool: string;
  model: { fingerprint: string; path: string };
  corpus: { fingerprint: string; path: string };
  /** The factor folder and a hash of its manifest (the eigenbases and Λ the index was built with). */
  factors: { path: string; fingerprint: string; strategy: string };
  settings: IndexSettings;
  modules: IndexModule[];
  /** Entries per document: BLOCK × Σ over modules of kept. */
  entries: number;
  documents: number;
  chunks: IndexChunk[];
  /** documents.json: per row, the document's index, id, source, tokens, file and line. */
  documentsFile: string;
  documentsSha256: string;
  shard: string | null;
  /** sha256 of the canonical JSON of every other field (util/seal.ts), checked on load. */
  metadataSha256?: string;
}
