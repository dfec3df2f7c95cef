/**
 * Folder corpora — of data shards (JSONL, compressed JSONL, Parquet: `data/train-00000-of-00042.parquet`)
 * or of .txt/.md files (one document per file) — and a TinyStories-style .txt file whose documents are
 * separated by `<|endoftext|>`.
 */
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence, openRegularFileAsync, readOpenedAsync } from '../util/files';
import { readJsonl, readLines } from './jsonl';
import { readParquet } from './parquet';
import { MAX_DOCUMENT_CHARS, type CorpusFile, type RawItem, type ReaderContext } from './types';

/** Extensions (lower case) of the files a folder of text files reads, one document per file. */
export const TEXT_EXTENSIONS: readonly string[] = ['.txt', '.md'];

/**
 * Name endings (lower case) of data shards. `.json.gz`/`.json.zst` are JSON Lines in Hugging Face
 * datasets (C4, Dolma); a plain `.json` is left out (in a dataset folder it is metadata).
 */
export const SHARD_SUFFIXES: readonly string[] = ['.jsonl', '.ndjson', '.jsonl.gz', '.json.gz', '.jsonl.zst', '.json.zst', '.jsonl.zstd', '.parquet'];

export function isShard(name: string): boolean {
  const lower = name.toLowerCase();
  return SHARD_SUFFIXES.some((s) => lower.endsWith(s));
}

/** Whether a folder's files are data shards (records with fields) rather than one document per file. */
export function holdsShards(files: CorpusFile[]): boolean {
  return files.some((f) => isShard(f.rel));
}

/** The separator of TinyStories-style text files. */
export const END_OF_TEXT = '<|endoftext|>';

/** Code-unit order: the same on every machine and locale (localeCompare is not). */
function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The files a folder corpus reads, recursively, sorted by their '/'-separated relative path: its data
 * shards when it holds any (a dataset's README.md is then not a document), else its .txt/.md files.
 * Entries whose name starts with '.' (.git, .DS_Store, editor swap files, the `datasets` cache's lock
 * files) are left out; symbolic links to files are followed, symbolic links to folders are not (no cycles).
 */
export async function listFolderFiles(root: string, signal?: AbortSignal): Promise<CorpusFile[]> {
  const out: CorpusFile[] = [];
  const walk = async (dir: string, relDir: string): Promise<void> => {
    signal?.throwIfAborted();
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      throw new InfluenceLensError('IO', fsErrorSentence(e, dir, 'list'), { file: dir, cause: e });
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue;
      const file = join(dir, entry.name);
      const rel = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.isDirectory()) {
        await walk(file, rel);
        continue;
      }
      if (!TEXT_EXTENSIONS.includes(extname(entry.name).toLowerCase()) && !isShard(entry.name)) continue;
      if (!entry.isFile() && !entry.isSymbolicLink()) continue;
      const st = await stat(file).catch(() => undefined); // a dangling link is not a document
      if (st?.isFile()) out.push({ file, rel, size: st.size });
    }
  };
  await walk(root, '');
  const files = holdsShards(out) ? out.filter((f) => isShard(f.rel)) : out;
  return files.sort((a, b) => byCodeUnits(a.rel, b.rel));
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Where a NUL byte shows a binary file (as git and grep decide): the first 8 KiB. */
const BINARY_SNIFF_BYTES = 8192;

/** A text file's contents (UTF-8, BOM removed), or why it is not one: never U+FFFD in place of bad bytes. */
export function decodeText(bytes: Uint8Array): string | { problem: string } {
  if (bytes.subarray(0, BINARY_SNIFF_BYTES).includes(0)) return { problem: 'binary file (it holds NUL bytes), skipped' };
  try {
    return strictUtf8.decode(bytes); // drops a leading BOM
  } catch {
    return { problem: 'not UTF-8 text (another encoding, such as Latin-1?), skipped' };
  }
}

/**
 * One document per file: id = relative path, source = first folder under the root ('' at the root),
 * text = the file's contents (a UTF-8 BOM removed, CRLF turned into LF so a story reads the same
 * whatever editor saved it). Whitespace-only, oversized, binary and non-UTF-8 files are skipped with an issue.
 */
export async function* readFolder(files: CorpusFile[], ctx: ReaderContext): AsyncGenerator<RawItem> {
  if (holdsShards(files)) return yield* readShards(files, ctx);
  for (const f of files) {
    ctx.signal?.throwIfAborted();
    const slash = f.rel.indexOf('/');
    const source = slash < 0 ? '' : f.rel.slice(0, slash);
    // One handle, opened non-blocking and checked: a FIFO swapped in since the listing is refused, not waited on.
    const { handle, size } = await openRegularFileAsync(f.file, 'corpus file');
    let bytes: Buffer | undefined;
    try {
      if (size <= MAX_DOCUMENT_CHARS * 4) bytes = await readOpenedAsync(handle, size, f.file, { what: 'corpus file', signal: ctx.signal });
    } finally {
      await handle.close();
    }
    if (!bytes) {
      yield { kind: 'issue', issue: { file: f.file, reason: `file larger than ${MAX_DOCUMENT_CHARS * 4} bytes` } };
      continue;
    }
    ctx.onBytes(bytes.length);
    ctx.onData?.(f, bytes);
    const decoded = decodeText(bytes);
    if (typeof decoded === 'object') {
      yield { kind: 'issue', issue: { file: f.file, reason: decoded.problem } };
      continue;
    }
    const text = decoded.replace(/\r\n/g, '\n');
    if (text.length > MAX_DOCUMENT_CHARS) {
      yield { kind: 'issue', issue: { file: f.file, reason: `file longer than ${MAX_DOCUMENT_CHARS} characters` } };
    } else if (text.trim() === '') {
      yield { kind: 'issue', issue: { file: f.file, reason: 'empty file' } };
    } else {
      yield { kind: 'doc', id: f.rel, source, text, file: f.file };
    }
  }
}

/**
 * Each shard in turn, as a one-file corpus of it would be read, but with ids `rel:line` (JSONL) or
 * `rel:row` (Parquet) when a record has none, so that ids stay distinct across shards.
 */
async function* readShards(files: CorpusFile[], ctx: ReaderContext): AsyncGenerator<RawItem> {
  for (const f of files) {
    ctx.signal?.throwIfAborted();
    if (f.rel.toLowerCase().endsWith('.parquet')) yield* readParquet(f, ctx, `${f.rel}:`);
    else yield* readJsonl(f, ctx, `${f.rel}:`);
  }
}

/**
 * A text file of documents separated by `<|endoftext|>` (anywhere in a line). Each part is trimmed and
 * empty parts are skipped silently (the file usually ends with a separator). id = 1-based number of the
 * part among the non-empty ones, source = the file name without extension, line = the line where the
 * part's text starts. Lines are joined with '\n' (CRLF files read the same).
 */
export async function* readEndOfText(input: CorpusFile, ctx: ReaderContext): AsyncGenerator<RawItem> {
  const file = input.file;
  const ext = extname(file);
  const source = basename(file, ext);
  let pieces: string[] = [];
  let chars = 0;
  let tooLong = false;
  let notUtf8: number | undefined; // the first line of the part that is not UTF-8
  let startLine: number | undefined; // line of the part's first non-whitespace text
  let part = 0;
  const flush = (): RawItem | undefined => {
    const text = tooLong || notUtf8 !== undefined ? '' : pieces.join('').trim();
    const line = startLine;
    const long = tooLong;
    const badLine = notUtf8;
    pieces = [];
    chars = 0;
    tooLong = false;
    notUtf8 = undefined;
    startLine = undefined;
    if (badLine !== undefined) return { kind: 'issue', issue: { file, line: badLine, reason: 'not valid UTF-8 text; the document holding it is skipped' } };
    if (long) return { kind: 'issue', issue: { file, line, reason: `document longer than ${MAX_DOCUMENT_CHARS} characters` } };
    if (text === '') return undefined;
    part++;
    return { kind: 'doc', id: String(part), source, text, file, line };
  };
  const add = (piece: string, line: number): void => {
    if (startLine === undefined && piece.trim() !== '') startLine = line;
    if (tooLong) return;
    chars += piece.length;
    if (chars > MAX_DOCUMENT_CHARS) {
      tooLong = true;
      pieces = [];
    } else {
      pieces.push(piece);
    }
  };
  for await (const l of readLines(file, { onBytes: ctx.onBytes, onChunk: ctx.onData && ((c) => ctx.onData!(input, c)), signal: ctx.signal })) {
    if (l.notUtf8) {
      // Its separators cannot be seen either: the line belongs to the current part, which is skipped.
      startLine ??= l.line;
      notUtf8 ??= l.line;
      continue;
    }
    if (l.tooLong) {
      if (startLine === undefined) startLine = l.line;
      tooLong = true;
      pieces = [];
      continue;
    }
    const segments = l.text.split(END_OF_TEXT);
    for (let k = 0; k < segments.length; k++) {
      if (k > 0) {
        const item = flush();
        if (item) yield item;
      }
      add(segments[k], l.line);
    }
    add('\n', l.line);
  }
  const item = flush();
  if (item) yield item;
}
