/**
 * Streaming line reader and the JSONL corpus format: one JSON object per line, `{"text": …, "id": …,
 * "source": …}` (the keys are configurable). Nothing holds more than one line in memory.
 */
import { createReadStream } from 'node:fs';
import { InfluenceLensError } from '../errors';
import { MAX_DOCUMENT_CHARS, type CorpusIssue, type RawItem, type ReaderContext } from './types';

export interface TextLine {
  /** The line without its '\n' or '\r\n' (and without a UTF-8 BOM on line 1). '' when `tooLong`. */
  text: string;
  /** 1-based. */
  line: number;
  /** The line had more than `maxChars` characters; its text was dropped. */
  tooLong?: boolean;
}

export interface ReadLinesOptions {
  /** Called with each number of newly read bytes. */
  onBytes?: (bytes: number) => void;
  signal?: AbortSignal;
  /** Lines longer than this are reported as `tooLong` instead of being held (default MAX_DOCUMENT_CHARS). */
  maxChars?: number;
  /** Read size (default 64 KiB). */
  chunkBytes?: number;
}

/**
 * The lines of a UTF-8 file, split on '\n' (a '\r' before it is dropped, so CRLF files read the same),
 * streamed in chunks. A final line without a newline is yielded; an empty file yields nothing; a file
 * ending in '\n' does not yield an extra empty line. Stopping the iteration closes the file.
 */
export async function* readLines(file: string, options: ReadLinesOptions = {}): AsyncGenerator<TextLine> {
  const maxChars = options.maxChars ?? MAX_DOCUMENT_CHARS;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: options.chunkBytes ?? 64 * 1024 });
  let pending: string[] = []; // pieces of the current line, joined once its end is seen
  let pendingChars = 0;
  let tooLong = false;
  let lineNo = 1;
  let first = true;
  let bytes = 0;
  const finish = (tail: string): TextLine => {
    let text = pending.length === 0 ? tail : pending.join('') + tail;
    const long = tooLong || pendingChars + tail.length > maxChars;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    const out: TextLine = long ? { text: '', line: lineNo, tooLong: true } : { text, line: lineNo };
    pending = [];
    pendingChars = 0;
    tooLong = false;
    lineNo++;
    return out;
  };
  try {
    for await (const raw of stream as AsyncIterable<string>) {
      options.signal?.throwIfAborted();
      if (options.onBytes) {
        options.onBytes(stream.bytesRead - bytes);
        bytes = stream.bytesRead;
      }
      let chunk = raw;
      if (first) {
        first = false;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      let start = 0;
      for (;;) {
        const nl = chunk.indexOf('\n', start);
        if (nl < 0) break;
        yield finish(chunk.slice(start, nl));
        start = nl + 1;
      }
      if (start < chunk.length) {
        const rest = chunk.slice(start);
        pendingChars += rest.length;
        if (tooLong || pendingChars > maxChars) {
          tooLong = true;
          pending = [];
        } else {
          pending.push(rest);
        }
      }
    }
    if (pendingChars > 0 || tooLong) yield finish('');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err.syscall === 'string') throw new InfluenceLensError('IO', `cannot read ${file}: ${err.message}`, { file, cause: e });
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
export async function* readJsonl(file: string, ctx: ReaderContext): AsyncGenerator<RawItem> {
  const { textField, idField, sourceField } = ctx.options;
  for await (const l of readLines(file, { onBytes: ctx.onBytes, signal: ctx.signal })) {
    if (l.tooLong) {
      yield { kind: 'issue', issue: { file, line: l.line, reason: `line longer than ${MAX_DOCUMENT_CHARS} characters` } };
      continue;
    }
    if (l.text.trim() === '') continue;
    yield parseJsonlLine(l.text, l.line, file, { textField, idField, sourceField });
  }
}
