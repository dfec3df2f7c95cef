/**
 * The corpus entry point: `readCorpus` streams the documents of a JSONL file (plain, .gz or .zst), a
 * Parquet file, a `<|endoftext|>`-separated .txt file, or a folder of data shards or of text files,
 * numbers them, and fills a report of what it skipped.
 *
 * Duplicate ids: both documents are kept and the later one is listed in `report.duplicates`. Dropping
 * one would silently change the corpus (and which one to keep is a guess); every document stays
 * addressable by its `index` (unique, and stable for a given corpus fingerprint) and by file:line.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve, basename } from 'node:path';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence } from '../util/files';
import { compressionOf } from './compressed';
import { listFolderFiles, readEndOfText, readFolder } from './folder';
import { readJsonl } from './jsonl';
import { readParquet } from './parquet';
import {
  MAX_REPORTED_ISSUES,
  type CorpusDocument,
  type CorpusFormat,
  type CorpusHooks,
  type CorpusInput,
  type CorpusOptions,
  type CorpusReport,
  type RawItem,
  type ReaderContext,
  type ResolvedCorpusOptions,
} from './types';

export function resolveCorpusOptions(options: CorpusOptions): ResolvedCorpusOptions {
  const field = (name: string, value: string | undefined, fallback: string): string => {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || value === '') {
      throw new InfluenceLensError('CORPUS_OPTIONS', `corpus ${name} must be a non-empty string`, { file: options.path });
    }
    return value;
  };
  if (typeof options.path !== 'string' || options.path === '') {
    throw new InfluenceLensError('CORPUS_OPTIONS', 'corpus path is empty');
  }
  const { maxDocs } = options;
  if (maxDocs !== undefined && !(Number.isSafeInteger(maxDocs) && maxDocs >= 1)) {
    throw new InfluenceLensError('CORPUS_OPTIONS', `corpus maxDocs must be a positive integer, got ${String(maxDocs)}`, {
      file: options.path,
    });
  }
  return {
    path: resolve(options.path),
    textField: field('textField', options.textField, 'text'),
    idField: field('idField', options.idField, 'id'),
    sourceField: field('sourceField', options.sourceField, 'source'),
    maxDocs,
  };
}

/**
 * How `path` will be read: a folder; by its name, Parquet (.parquet), a .txt file (`<|endoftext|>`-
 * separated), gzip or zstd JSONL (.gz, .zst, .zstd); or JSONL (any other file).
 */
export function corpusFormatOf(path: string, isDirectory: boolean): CorpusFormat {
  if (isDirectory) return 'folder';
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') return 'parquet';
  if (ext === '.txt') return 'endoftext';
  const compression = compressionOf(path);
  return compression === 'gzip' ? 'jsonl-gzip' : compression === 'zstd' ? 'jsonl-zstd' : 'jsonl';
}

/** The files a corpus path stands for, in reading order, with their sizes (for progress and fingerprints). */
export async function corpusInput(path: string, signal?: AbortSignal): Promise<CorpusInput> {
  const root = resolve(path);
  let st;
  try {
    st = await stat(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new InfluenceLensError('NOT_FOUND', `corpus not found: ${root}`, { file: root, cause: e });
    }
    throw new InfluenceLensError('IO', fsErrorSentence(e, `corpus ${root}`), { file: root, cause: e });
  }
  if (st.isDirectory()) {
    const files = await listFolderFiles(root, signal);
    return { format: 'folder', root, files, totalBytes: files.reduce((s, f) => s + f.size, 0) };
  }
  if (!st.isFile()) throw new InfluenceLensError('UNSUPPORTED', `corpus is neither a file nor a folder: ${root}`, { file: root });
  return { format: corpusFormatOf(root, false), root, files: [{ file: root, rel: basename(root), size: st.size }], totalBytes: st.size };
}

function rawItems(input: CorpusInput, ctx: ReaderContext): AsyncGenerator<RawItem> {
  switch (input.format) {
    case 'folder':
      return readFolder(input.files, ctx);
    case 'endoftext':
      return readEndOfText(input.files[0], ctx);
    case 'jsonl':
    case 'jsonl-gzip':
    case 'jsonl-zstd':
      return readJsonl(input.files[0], ctx);
    case 'parquet':
      return readParquet(input.files[0], ctx);
  }
}

/** file:line, file row N (Parquet, 0-based), or the file. */
export function where(issue: { file: string; line?: number; row?: number }): string {
  return issue.line !== undefined ? `${issue.file}:${issue.line}` : issue.row !== undefined ? `${issue.file} row ${issue.row}` : issue.file;
}

/**
 * Streams the accepted documents of a corpus. Nothing is read until the first `next()`; errors
 * (NOT_FOUND, IO, CORPUS_OPTIONS, and EMPTY_CORPUS once the input is exhausted without one accepted
 * document) are thrown from the iteration. Stopping early (maxDocs, `break`, abort) closes the file.
 * `hooks` see the input and the raw bytes as they are read (to fingerprint the corpus during the pass).
 */
export async function* readCorpus(
  options: CorpusOptions,
  report?: CorpusReport,
  signal?: AbortSignal,
  hooks: CorpusHooks = {},
): AsyncGenerator<CorpusDocument> {
  const resolved = resolveCorpusOptions(options);
  const rep: CorpusReport = report ?? { documents: 0, skipped: [] };
  rep.documents = 0;
  rep.skipped = [];
  rep.skippedCount = 0;
  rep.duplicates = [];
  rep.duplicateCount = 0;
  rep.bytesRead = 0;
  signal?.throwIfAborted();
  const input = await corpusInput(resolved.path, signal);
  hooks.onInput?.(input);
  const ctx: ReaderContext = {
    options: resolved,
    onBytes: (n) => {
      rep.bytesRead = (rep.bytesRead ?? 0) + n;
    },
    onData: hooks.onData && ((file, chunk) => hooks.onData!(file, chunk)),
    signal,
  };
  const firstAt = new Map<string, string>(); // id → where its first document is, for the duplicate message
  let index = 0;
  for await (const item of rawItems(input, ctx)) {
    signal?.throwIfAborted();
    if (item.kind === 'issue') {
      rep.skippedCount = (rep.skippedCount ?? 0) + 1;
      if (rep.skipped.length < MAX_REPORTED_ISSUES) rep.skipped.push(item.issue);
      continue;
    }
    const doc: CorpusDocument = { index, id: item.id, source: item.source, text: item.text, file: item.file };
    if (item.line !== undefined) doc.line = item.line;
    if (item.row !== undefined) doc.row = item.row;
    if (firstAt.has(doc.id)) {
      rep.duplicateCount = (rep.duplicateCount ?? 0) + 1;
      const dups = (rep.duplicates ??= []);
      if (dups.length < MAX_REPORTED_ISSUES) {
        const at = firstAt.get(doc.id);
        dups.push({
          file: doc.file,
          ...(doc.line === undefined ? {} : { line: doc.line }),
          ...(doc.row === undefined ? {} : { row: doc.row }),
          reason: `duplicate id "${doc.id}"${at === '' ? '' : ` (first at ${at})`}; both documents are kept`,
        });
      }
    } else {
      firstAt.set(doc.id, doc.line !== undefined ? `line ${doc.line}` : doc.row !== undefined ? `row ${doc.row}` : '');
    }
    index++;
    rep.documents = index;
    yield doc;
    if (resolved.maxDocs !== undefined && index >= resolved.maxDocs) return;
  }
  if (index === 0) {
    const n = rep.skippedCount ?? rep.skipped.length;
    const first = rep.skipped[0];
    const detail =
      input.files.length === 0
        ? 'no .txt or .md files and no data shards (.parquet, .jsonl, .jsonl.gz, .jsonl.zst) in the folder'
        : n === 0
          ? 'no documents'
          : `${n} skipped; first: ${where(first)}: ${first.reason}`;
    throw new InfluenceLensError('EMPTY_CORPUS', `corpus ${resolved.path} has no usable documents (${detail})`, { file: resolved.path });
  }
}

/** Reads the whole corpus into an array (small corpora and tests). */
export async function readCorpusAll(options: CorpusOptions, report?: CorpusReport, signal?: AbortSignal): Promise<CorpusDocument[]> {
  const docs: CorpusDocument[] = [];
  for await (const d of readCorpus(options, report, signal)) docs.push(d);
  return docs;
}
