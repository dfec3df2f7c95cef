/**
 * Streaming line reader and the JSONL corpus format: one JSON object per line, `{"text": …, "id": …,
 * "source": …}` (the keys are configurable). Nothing holds more than one line in memory.
 */
import { createReadStream } from 'node:fs';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence } from '../util/files';
import { MAX_DOCUMENT_CHARS, type CorpusFile, type CorpusIssue, type RawItem, type ReaderContext } from './types';

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
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The lines of a UTF-8 file, split on '\n' (a '\r' before it is dropped, so CRLF files read the same),
 * streamed in chunks of bytes and decoded line by line, strictly: a line that is not valid UTF-8 is
 * yielded as `notUtf8` rather than with U+FFFD in it. A final line without a newline is yielded; an empty
 * file yields nothing; a file ending in '\n' does not yield an extra empty line. Stopping the iteration
 * closes the file.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const maxChars = options.maxChars ?? MAX_DOCUMENT_CHARS;
  // A line of at most maxChars UTF-16 code units has at most 3 bytes per unit: beyond that it is too long.
  const maxBytes = 3 * maxChars;
  const stream = createReadStream(file, { highWaterMark: options.chunkBytes ?? 64 * 1024 });
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
    for await (const raw of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      options.onBytes?.(raw.length);
      options.onChunk?.(raw);
      let chunk = raw;
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
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.syscall === 'string') throw new InfluenceLensError('IO', fsErrorSentence(e, file), { file, cause: e });
    throw e;
  } finally {
    stream.destroy();
  }
}

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * A label field (id or source): strings as they are, finite numbers converted; null, '' and absent give
 * undefined (the caller's default); anything else is an error message.
 */
export function labelField(obj: Record<string, unknown>, key: string): string | undefined | { error: string } {
  const v = obj[key];
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return { error: `"${key}" is ${typeName(v)}, not a string or number` };
}

/** Parses one JSONL line into a document or the reason it is skipped. */
export function parseJsonlLine(
  text: string,
  line: number,
  file: string,
  fields: { textField: string; idField: string; sourceField: string },
): RawItem {
  const issue = (reason: string): RawItem => ({ kind: 'issue', issue: { file, line, reason } satisfies CorpusIssue });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    const hint = line === 1 && text.trimStart().startsWith('[') ? ' (the corpus must be JSON Lines: one object per line, not an array)' : '';
    return issue(`invalid JSON: ${(e as Error).message}${hint}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(`not a JSON object (${typeName(value)})`);
  const obj = value as Record<string, unknown>;
  const body = obj[fields.textField];
  if (body === undefined) return issue(`missing "${fields.textField}" field`);
  if (typeof body !== 'string') return issue(`"${fields.textField}" is ${typeName(body)}, not a string`);
  if (body.trim() === '') return issue(`empty "${fields.textField}"`);
  const id = labelField(obj, fields.idField);
  if (typeof id === 'object') return issue(id.error);
  const source = labelField(obj, fields.sourceField);
  if (typeof source === 'object') return issue(source.error);
  return { kind: 'doc', id: id ?? String(line), source: source ?? '', text: body, file, line };
}

/** The documents of a JSONL file; blank lines are ignored, malformed ones yielded as issues. */
export async function* readJsonl(input: CorpusFile, ctx: ReaderContext): AsyncGenerator<RawItem> {
  const { textField, idField, sourceField } = ctx.options;
  const file = input.file;
  for await (const l of readLines(file, { onBytes: ctx.onBytes, onChunk: ctx.onData && ((c) => ctx.onData!(input, c)), signal: ctx.signal })) {
    if (l.tooLong) {
      yield { kind: 'issue', issue: { file, line: l.line, reason: `line longer than ${MAX_DOCUMENT_CHARS} characters` } };
      continue;
    }
    if (l.notUtf8) {
      yield { kind: 'issue', issue: { file, line: l.line, reason: 'not valid UTF-8 text' } };
      continue;
    }
    if (l.text.trim() === '') continue;
    yield parseJsonlLine(l.text, l.line, file, { textField, idField, sourceField });
  }
}
