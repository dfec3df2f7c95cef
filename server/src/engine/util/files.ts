/**
 * Reading input files so that no path can hang the tool or exhaust its memory: only regular files are
 * read (a FIFO would block the reader until something writes to it; a character device such as
 * /dev/zero never ends), they are opened non-blocking so a FIFO swapped in after a check cannot block
 * either, and every read has a size limit. Errors are sentences that name the file, never raw errno text.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { InfluenceLensError } from '../errors';

/** Size limits of the metadata files the engine reads whole (JSON, tokenizers). */
export const FILE_LIMITS = {
  /** config.json, manifests, shard records, query files. */
  smallJson: 64 * 2 ** 20,
  /** results.json, documents.json, analysis.json, tokenizer.json: up to V8's longest string. */
  largeJson: 512 * 2 ** 20,
  /** llama2.c tokenizer .bin. */
  tokenizer: 256 * 2 ** 20,
} as const;

/** What a non-regular file is, in words. */
export function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a folder';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isSymbolicLink()) return 'a symbolic link';
  return 'a regular file';
}

/** A sentence for a failed file operation (never the raw "ENOENT: no such file…, open '…'"). */
export function fsErrorSentence(e: unknown, path: string, verb = 'read'): string {
  const code = (e as NodeJS.ErrnoException).code;
  const why: Record<string, string> = {
    ENOENT: 'it does not exist',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
    EISDIR: 'it is a folder',
    EROFS: 'the file system is read-only',
    ENOSPC: 'no space left on the device',
    EDQUOT: 'the disk quota is exceeded',
    ELOOP: 'too many symbolic links',
    ENAMETOOLONG: 'the name is too long',
    EMFILE: 'too many open files',
    EIO: 'an input/output error',
    EEXIST: 'something of that name already exists',
  };
  const reason = (code && why[code]) ?? (e instanceof Error ? e.message : String(e));
  return `cannot ${verb} ${path}: ${reason}`;
}

function fsError(e: unknown, path: string, what: string, verb = 'read'): InfluenceLensError {
  const code = (e as NodeJS.ErrnoException).code;
  return new InfluenceLensError(code === 'ENOENT' || code === 'ENOTDIR' ? 'NOT_FOUND' : 'IO', fsErrorSentence(e, `${what} ${path}`, verb), {
    file: path,
    cause: e,
  });
}

function notRegular(path: string, what: string, st: Stats): InfluenceLensError {
  return new InfluenceLensError('NOT_A_FILE', `${what} ${path} is ${fileKind(st)}, not a regular file`, { file: path });
}

/** stat (following links) of a path that must be a regular file; refuses anything else at once. */
export function statRegularFile(path: string, what = 'file'): Stats {
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    throw fsError(e, path, what);
  }
  if (!st.isFile()) throw notRegular(path, what, st);
  return st;
}

/**
 * Opens a regular file for reading: non-blocking (so a FIFO cannot block the open), then checked on the
 * descriptor itself (so nothing swapped in between a check and the open gets read). Close the fd.
 */
export function openRegularFile(path: string, what = 'file'): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fsError(e, path, what, 'open');
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw notRegular(path, what, st);
    return { fd, size: st.size };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

export interface BoundedReadOptions {
  /** What the file is, for messages ("model config", "factor manifest"). */
  what?: string;
  maxBytes: number;
}

function tooLarge(path: string, what: string, size: number, max: number): InfluenceLensError {
  return new InfluenceLensError('TOO_LARGE', `${what} ${path} has ${size} bytes, more than the ${max} this tool reads for it`, { file: path });
}

/** The bytes of a regular file of at most maxBytes. */
export function readFileBounded(path: string, options: BoundedReadOptions): Buffer {
  const what = options.what ?? 'file';
  const { fd, size } = openRegularFile(path, what);
  try {
    if (size > options.maxBytes) throw tooLarge(path, what, size, options.maxBytes);
    const out = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      let n: number;
      try {
        n = readSync(fd, out, done, size - done, done);
      } catch (e) {
        throw fsError(e, path, what);
      }
      if (n === 0) throw new InfluenceLensError('IO', `${what} ${path} shrank while it was read (${size} bytes, then ${done})`, { file: path });
      done += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeUtf8(bytes: Buffer, path: string, what = 'file'): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new InfluenceLensError('NOT_UTF8', `${what} ${path} is not UTF-8 text`, { file: path });
  }
}

/** UTF-8 text of a regular file of at most maxBytes; invalid UTF-8 is an error naming the file. */
export function readTextBounded(path: string, options: BoundedReadOptions): string {
  return decodeUtf8(readFileBounded(path, options), path, options.what);
}

/**
 * JSON.parse's reason without V8's excerpt of the text ("Unexpected token 'r', "root:$y$j9T"... is not
 * valid JSON"): a path that leads to a system file (a link to /etc/shadow) must not show its first bytes.
 */
export function jsonSyntaxReason(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  const token = /^Unexpected token '([\s\S])', [\s\S]* is not valid JSON$/u.exec(message);
  if (token) return `unexpected character ${JSON.stringify(token[1])}`;
  // Any other message that quotes the text: say only that it is not JSON.
  return / is not valid JSON$/u.test(message) ? 'not valid JSON' : message;
}

/** The parsed JSON of a regular file of at most maxBytes; `code` is the error code for malformed JSON. */
export function readJsonBounded(path: string, options: BoundedReadOptions & { code?: string }): unknown {
  return parseJsonFile(readTextBounded(path, options), path, options);
}

function parseJsonFile(text: string, path: string, options: { what?: string; code?: string }): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InfluenceLensError(options.code ?? 'FORMAT', `malformed JSON in ${options.what ?? 'file'} ${path}: ${jsonSyntaxReason(e)}`, {
      file: path,
      cause: e,
    });
  }
}

/** Cancellation and a time bound of an asynchronous read. */
export interface AsyncReadOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

/**
 * The asynchronous openRegularFile: opened non-blocking (a FIFO swapped in after any earlier check
 * cannot block a libuv thread in open), then checked on the handle itself. Close the handle.
 */
export async function openRegularFileAsync(path: string, what = 'file'): Promise<{ handle: FileHandle; size: number }> {
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw fsError(e, path, what, 'open');
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw notRegular(path, what, st);
    return { handle, size: st.size };
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The first `size` bytes of an opened file, read in pieces so the event loop stays free; cancellable and time-bounded. */
export async function readOpenedAsync(handle: FileHandle, size: number, path: string, options: AsyncReadOptions & { what?: string } = {}): Promise<Buffer> {
  const what = options.what ?? 'file';
  const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
  const out = Buffer.allocUnsafe(size);
  let done = 0;
  while (done < size) {
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) throw new InfluenceLensError('TIMEOUT', `reading ${what} ${path} took longer than ${options.timeoutMs} ms`, { file: path });
    const { bytesRead } = await handle.read(out, done, Math.min(size - done, 4 << 20), done).catch((e: unknown) => {
      throw fsError(e, path, what);
    });
    if (bytesRead === 0) throw new InfluenceLensError('IO', `${what} ${path} shrank while it was read (${size} bytes, then ${done})`, { file: path });
    done += bytesRead;
  }
  return out;
}

/**
 * The asynchronous form for long-lived hosts (the language server): the same checks, read in pieces so
 * the event loop stays free, cancellable with `signal` and bounded in time with `timeoutMs`.
 */
export async function readFileBoundedAsync(path: string, options: BoundedReadOptions & AsyncReadOptions): Promise<Buffer> {
  const what = options.what ?? 'file';
  options.signal?.throwIfAborted();
  const { handle, size } = await openRegularFileAsync(path, what);
  try {
    if (size > options.maxBytes) throw tooLarge(path, what, size, options.maxBytes);
    return await readOpenedAsync(handle, size, path, options);
  } finally {
    await handle.close();
  }
}

/** readJsonBounded read with readFileBoundedAsync (cancellable, the event loop free while it reads). */
export async function readJsonBoundedAsync(path: string, options: BoundedReadOptions & AsyncReadOptions & { code?: string }): Promise<unknown> {
  return parseJsonFile(decodeUtf8(await readFileBoundedAsync(path, options), path, options.what), path, options);
}

/** UTF-8 text read with readFileBoundedAsync's checks; invalid UTF-8 is an error naming the file. */
export async function readTextBoundedAsync(path: string, options: BoundedReadOptions & AsyncReadOptions): Promise<string> {
  return decodeUtf8(await readFileBoundedAsync(path, options), path, options.what);
}
