/**
 * Streaming line reader and the JSONL corpus format: one JSON object per line, `{"text": …, "id": …,
 * "source": …}` (the keys are configurable), plain or gzip/zstd-compressed. Nothing holds more than one
 * line in memory.
 */
import { CorruptData, compressionOf, decompressedChunks, type Compression } from './compressed';
import { recordToItem, type FieldNames } from './fields';
import { jsonSyntaxReason } from '../util/files';
import { MAX_DOCUMENT_CHARS, type CorpusFile, type RawItem, type ReaderContext } from './types';

export { labelField } from './fields';

export interface TextLine {
  /** The line without its '\n' or '\r\n' (and without a UTF-8 BOM on line 1). '' when `tooLong` or `notUtf8`. */
  text: string;
  /** 1-based. */
  line: number;
  /** The line had more than `maxChars` characters; its text was dropped. */
  tooLong?: boolean;
  /** The line is not valid UTF-8; its text was dropped (never decoded to U+FFFD). */
  notUtf8?: boolean;
}

export interface ReadLinesOptions {
  /** Called with each number of newly read bytes. */
  onBytes?: (bytes: number) => void;
  /** Called with each chunk of raw bytes as read, in file order (e.g. to fingerprint the file during the pass). */
  onChunk?: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
  /** Lines longer than this are reported as `tooLong` instead of being held (default MAX_DOCUMENT_CHARS). */
  maxChars?: number;
  /** Read size (default 64 KiB). */
  chunkBytes?: number;
  /** How the file is stored (default 'none'); `onBytes`/`onChunk` see the stored bytes. */
  compression?: Compression;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The lines of a UTF-8 file, split on '\n' (a '\r' before it is dropped, so CRLF files read the same),
 * streamed in chunks of bytes and decoded line by line, strictly: a line that is not valid UTF-8 is
 * yielded as `notUtf8` rather than with U+FFFD in it. A final line without a newline is yielded; an empty
 * file yields nothing; a file ending in '\n' does not yield an extra empty line. Stopping the iteration
 * closes the file. Corrupt compressed data ends the lines with a CorruptData error (the lines before it
 * are yielded).
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const maxChars = options.maxChars ?? MAX_DOCUMENT_CHARS;
  // A line of at most maxChars UTF-16 code units has at most 3 bytes per unit: beyond that it is too long.
  const maxBytes = 3 * maxChars;
  const source = decompressedChunks(file, options.compression ?? 'none', options);
  let pending: Buffer[] = []; // pieces of the current line, joined once its end is seen
  let pendingBytes = 0;
  let tooLong = false;
  let lineNo = 1;
  let first = true;
  const finish = (tail: Buffer): TextLine => {
    const bytes = pending.length === 0 ? tail : Buffer.concat([...pending, tail]);
    let long = tooLong || pendingBytes + tail.length > maxBytes;
    const line = lineNo;
    pending = [];
    pendingBytes = 0;
    tooLong = false;
    lineNo++;
    if (long) return { text: '', line, tooLong: true };
    const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
    let text: string;
    try {
      text = strictUtf8.decode(bytes.subarray(0, end));
    } catch {
      return { text: '', line, notUtf8: true };
    }
    long = text.length > maxChars;
    return long ? { text: '', line, tooLong: true } : { text, line };
  };
  try {
    for await (const raw of source) {
      let chunk = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
      if (first) {
        // The BOM may arrive split over tiny chunks: hold the start until 3 bytes decide it.
        if (pendingBytes + chunk.length < 3 && chunk.indexOf(0x0a) < 0) {
          pending.push(chunk);
          pendingBytes += chunk.length;
          continue;
        }
        first = false;
        chunk = pending.length > 0 ? Buffer.concat([...pending, chunk]) : chunk;
        pending = [];
        pendingBytes = 0;
        if (chunk[0] === 0xef && chunk[1] === 0xbb && chunk[2] === 0xbf) chunk = chunk.subarray(3);
      }
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf(0x0a, start);
        if (nl < 0) break;
        yield finish(chunk.subarray(start, nl));
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.subarray(start);
        pendingBytes += rest.length;
        if (tooLong || pendingBytes > maxBytes) {
          tooLong = true;
          pending = [];
        } else {
          pending.push(rest);
        }
      }
    }
    if (first && pendingBytes > 0) {
      // A file of fewer than 3 bytes without a newline.
      const all = Buffer.concat(pending);
      pending = [];
      pendingBytes = 0;
      const body = all[0] === 0xef && all[1] === 0xbb && all[2] === 0xbf ? all.subarray(3) : all;
      if (body.length > 0) yield finish(body);
    } else if (pendingBytes > 0 || tooLong) {
      yield finish(Buffer.alloc(0));
    }
  } finally {
    await source.return(undefined);
  }
}

/** Parses one JSONL line into a document or the reason it is skipped (id: `defaultId`, else the line number). */
export function parseJsonlLine(text: string, line: number, file: string, fields: FieldNames, defaultId = String(line)): RawItem {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const hint = line === 1 && text.trimStart().startsWith('[') ? ' (the corpus must be JSON Lines: one object per line, not an array)' : '';
    // Without V8's excerpt: a corpus linked to a system file must not list its lines in the skip report.
    return { kind: 'issue', issue: { file, line, reason: `invalid JSON: ${jsonSyntaxReason(e)}${hint}` } };
  }
  return recordToItem(value, { file, line }, fields, defaultId);
}

/**
 * The documents of a JSONL file, plain or compressed (by its name: .gz, .zst); blank lines are ignored,
 * malformed ones yielded as issues. Corrupt compressed data is one issue at the line reached, with the
 * byte offset; the rest of the file is skipped (a compressed stream cannot be resumed past a bad block).
 * `idPrefix`: a folder's shards number their lines `rel:line` so that ids stay distinct across shards.
 */
export async function* readJsonl(input: CorpusFile, ctx: ReaderContext, idPrefix = ''): AsyncGenerator<RawItem> {
  const { textField, idField, sourceField } = ctx.options;
  const file = input.file;
  const compression = compressionOf(input.file);
  const lines = readLines(file, { onBytes: ctx.onBytes, onChunk: ctx.onData && ((c) => ctx.onData!(input, c)), signal: ctx.signal, compression });
  let next = 1;
  try {
    for await (const l of lines) {
      next = l.line + 1;
      const item = jsonlItem(l, file, { textField, idField, sourceField }, idPrefix);
      if (item) yield item;
    }
  } catch (e) {
    if (!(e instanceof CorruptData)) throw e;
    yield { kind: 'issue', issue: { file, line: next, reason: `${e.message}; line ${next} and the rest of the file are skipped` } };
  }
}

/** One line as a document, an issue, or nothing (a blank line). */
function jsonlItem(l: TextLine, file: string, fields: FieldNames, idPrefix: string): RawItem | undefined {
  if (l.tooLong) return { kind: 'issue', issue: { file, line: l.line, reason: `line longer than ${MAX_DOCUMENT_CHARS} characters` } };
  if (l.notUtf8) return { kind: 'issue', issue: { file, line: l.line, reason: 'not valid UTF-8 text' } };
  if (l.text.trim() === '') return undefined;
  return parseJsonlLine(l.text, l.line, file, fields, `${idPrefix}${l.line}`);
}
