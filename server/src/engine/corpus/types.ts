/**
 * The corpus: the pretraining documents that influence is attributed to. Readers stream them one at a
 * time (a corpus can be far larger than memory) and fill a report of what they skipped on the way.
 */

export interface CorpusDocument {
  /** 0-based position among the accepted documents: the one key that is always unique (score vectors use it). */
  index: number;
  /** The id from the file (JSONL), the relative path (folder) or the part number (`<|endoftext|>` text). Not necessarily unique. */
  id: string;
  /** Source label (code, math, wiki, …); '' when the corpus has none. */
  source: string;
  text: string;
  /** Absolute path of the file the document came from. */
  file: string;
  /** 1-based line where the document starts (JSONL, compressed or not, and `<|endoftext|>` text; absent for one-file-per-document folders and Parquet). */
  line?: number;
  /** 0-based row of a Parquet file (as pandas and `datasets` number rows). */
  row?: number;
}

export interface CorpusOptions {
  /**
   * A JSONL file (any extension but those below), gzip- or zstd-compressed JSONL (.gz, .zst), a Parquet
   * file (.parquet), a `<|endoftext|>`-separated .txt file, or a folder: of data shards (.jsonl, .ndjson,
   * .jsonl.gz, .json.gz, .jsonl.zst, .json.zst, .parquet) when it holds any, else of .txt/.md files.
   */
  path: string;
  /** Key, or dotted path into nested records (`meta.text`), of the document text in JSONL and Parquet records (default 'text'). */
  textField?: string;
  /** Key or dotted path of the document id (default 'id'; absent: the line, or the row of a Parquet file; `rel:line` in a folder). */
  idField?: string;
  /** Key or dotted path of the source label (default 'source'; '' when absent). */
  sourceField?: string;
  /** Stop after this many accepted documents (a positive integer; absent: read everything). */
  maxDocs?: number;
}

/** A problem with one line, part or file of the corpus. */
export interface CorpusIssue {
  file: string;
  line?: number;
  /** 0-based Parquet row (the first of a row group that could not be read). */
  row?: number;
  reason: string;
}

/**
 * What the reader saw, filled while it streams (so a progress display can read it at any time). Only
 * `documents` and `skipped` are required: pass `{ documents: 0, skipped: [] }` or `newCorpusReport()`.
 * The reader resets every field when it starts.
 */
export interface CorpusReport {
  /** Documents accepted so far. */
  documents: number;
  /**
   * Lines, parts or files that were skipped (malformed JSON, missing or empty text, …), in file order.
   * At most MAX_REPORTED_ISSUES are kept; `skippedCount` has the true number.
   */
  skipped: CorpusIssue[];
  /** How many were skipped in all (≥ skipped.length). */
  skippedCount?: number;
  /**
   * Accepted documents whose id repeats an earlier document's id. Both are kept (dropping one would
   * change the corpus silently); results address documents by `index`, and by file:line for display.
   * At most MAX_REPORTED_ISSUES are kept; `duplicateCount` has the true number.
   */
  duplicates?: CorpusIssue[];
  duplicateCount?: number;
  /** Bytes of input consumed so far (compare with `CorpusInput.totalBytes` for a progress bar). */
  bytesRead?: number;
}

/** At most this many issues of each kind are kept in a report (a wrong `textField` would otherwise keep one per line). */
export const MAX_REPORTED_ISSUES = 10_000;

/** A JSONL line, or a `<|endoftext|>` part, or a folder file longer than this is skipped rather than held in memory. */
export const MAX_DOCUMENT_CHARS = 64 * 1024 * 1024;

/** How the path is read (a folder reads each file by its name, as a one-file corpus of that file would be). */
export type CorpusFormat = 'jsonl' | 'jsonl-gzip' | 'jsonl-zstd' | 'parquet' | 'endoftext' | 'folder';

/** One file that the corpus reads. */
export interface CorpusFile {
  /** Absolute path. */
  file: string;
  /** Path relative to the corpus root with '/' separators (the file name for a one-file corpus). */
  rel: string;
  size: number;
}

/** The files behind a corpus path, in reading order. */
export interface CorpusInput {
  format: CorpusFormat;
  /** Absolute path of the corpus (file or folder). */
  root: string;
  files: CorpusFile[];
  totalBytes: number;
}

/** What a format reader yields: a document (before numbering and id checks) or a skipped piece. */
export type RawItem =
  { kind: 'doc'; id: string; source: string; text: string; file: string; line?: number; row?: number } | { kind: 'issue'; issue: CorpusIssue };

/** Options with defaults applied. */
export interface ResolvedCorpusOptions {
  path: string;
  textField: string;
  idField: string;
  sourceField: string;
  maxDocs: number | undefined;
}

/** Shared by the format readers. */
export interface ReaderContext {
  options: ResolvedCorpusOptions;
  /** Called with each number of newly read bytes. */
  onBytes: (bytes: number) => void;
  /** Called with the raw bytes of each file as they are read, in reading order (CorpusHooks.onData). */
  onData?: (file: CorpusFile, chunk: Uint8Array) => void;
  signal?: AbortSignal;
}

/**
 * What a caller can observe during a pass, beyond the documents: the input once it is listed, and the
 * raw bytes of every file as they are read (in reading order; a file the reader skips unread, such as an
 * oversized one, sends none). CorpusFingerprinter uses both to fingerprint the corpus during the pass.
 */
export interface CorpusHooks {
  onInput?(input: CorpusInput): void;
  onData?(file: CorpusFile, chunk: Uint8Array): void;
}

export function newCorpusReport(): Required<CorpusReport> {
  return { documents: 0, skipped: [], skippedCount: 0, duplicates: [], duplicateCount: 0, bytesRead: 0 };
}
