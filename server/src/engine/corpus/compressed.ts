/**
 * The bytes of a corpus file, decompressed as they stream: gzip through Node's zlib, zstd through fzstd
 * (Node 20's zlib has no zstd). The raw bytes go to `onBytes`/`onChunk` as they are read (progress and
 * the corpus fingerprint hash the file as stored); corrupt or truncated data ends the stream with a
 * CorruptData error that says how far into the file it was found.
 */
import { createGunzip } from 'node:zlib';
import { Decompress } from 'fzstd';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence, openRegularFileAsync } from '../util/files';

export type Compression = 'none' | 'gzip' | 'zstd';

/** Names of compressed JSONL: `.gz`, `.zst` or `.zstd` after any other extension (`.jsonl.gz`, `.json.zst`). */
export function compressionOf(name: string): Compression {
  const lower = name.toLowerCase();
  if (lower.endsWith('.gz')) return 'gzip';
  if (lower.endsWith('.zst') || lower.endsWith('.zstd')) return 'zstd';
  return 'none';
}

export interface RawReadOptions {
  onBytes?: (bytes: number) => void;
  onChunk?: (chunk: Uint8Array) => void;
  signal?: AbortSignal;
  /** Read size (default 64 KiB). */
  chunkBytes?: number;
}

/** Decompression failed: the data is corrupt or truncated. `offset`: compressed bytes read when it was found. */
export class CorruptData extends Error {
  constructor(
    readonly compression: Compression,
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`corrupt ${compression} data (${detail}) within the first ${offset} bytes of the file`);
  }
}

/**
 * The file's bytes as stored, read from one handle opened non-blocking and checked to be a regular file
 * (a FIFO or device swapped in for the file after the corpus was listed is refused, never waited on). A
 * read error is an IO InfluenceLensError naming the file. Stopping closes it.
 */
export async function* fileChunks(file: string, o: RawReadOptions = {}): AsyncGenerator<Uint8Array> {
  const { handle } = await openRegularFileAsync(file, 'corpus file');
  const size = o.chunkBytes ?? 64 * 1024;
  try {
    for (;;) {
      o.signal?.throwIfAborted();
      // A fresh buffer per chunk: readers keep chunks (pieces of a line) past the next read.
      const { bytesRead, buffer } = await handle.read(Buffer.allocUnsafe(size), 0, size, null);
      if (bytesRead === 0) return;
      const chunk = buffer.subarray(0, bytesRead);
      o.onBytes?.(chunk.length);
      o.onChunk?.(chunk);
      yield chunk;
    }
  } catch (e) {
    if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw new InfluenceLensError('IO', fsErrorSentence(e, file), { file, cause: e });
    throw e;
  } finally {
    await handle.close();
  }
}

/** The decompressed bytes of `file` (its bytes as they are when `compression` is 'none'). */
export function decompressedChunks(file: string, compression: Compression, o: RawReadOptions = {}): AsyncGenerator<Uint8Array> {
  switch (compression) {
    case 'none':
      return fileChunks(file, o);
    case 'gzip':
      return gunzipChunks(file, o);
    case 'zstd':
      return zstdChunks(file, o);
  }
}

/** gzip, multi-member files included (as `gzip -c a b > ab.gz` makes and zlib reads). */
async function* gunzipChunks(file: string, o: RawReadOptions): AsyncGenerator<Uint8Array> {
  let offset = 0;
  const gunzip = createGunzip();
  const raw = fileChunks(file, { ...o, onBytes: (n) => ((offset += n), o.onBytes?.(n)) });
  // Feed the decompressor from the file with backpressure; a read error ends the output with that error.
  const feed = (async () => {
    try {
      for await (const chunk of raw) {
        if (gunzip.destroyed) return;
        if (!gunzip.write(chunk)) await drained(gunzip);
      }
      gunzip.end();
    } catch (e) {
      gunzip.destroy(e as Error);
    }
  })();
  try {
    for await (const out of gunzip as AsyncIterable<Buffer>) yield out;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code.startsWith('Z_')) throw new CorruptData('gzip', offset, (e as Error).message);
    throw e;
  } finally {
    gunzip.destroy();
    await raw.return(undefined);
    await feed;
  }
}

/** Resolves when a writable can take more, or has closed (then the feeder stops). */
function drained(stream: NodeJS.WritableStream & { once: NodeJS.EventEmitter['once']; off: NodeJS.EventEmitter['off'] }): Promise<void> {
  return new Promise((done) => {
    const finish = () => {
      stream.off('drain', finish);
      stream.off('close', finish);
      done();
    };
    stream.once('drain', finish);
    stream.once('close', finish);
  });
}

/** zstd, several frames included. fzstd is synchronous: each raw chunk's output is yielded before the next read. */
async function* zstdChunks(file: string, o: RawReadOptions): AsyncGenerator<Uint8Array> {
  let offset = 0;
  const out: Uint8Array[] = [];
  const zstd = new Decompress((chunk) => out.push(chunk));
  const push = (chunk: Uint8Array, final: boolean) => {
    try {
      zstd.push(chunk, final);
    } catch (e) {
      throw new CorruptData('zstd', offset, (e as Error).message);
    }
  };
  for await (const chunk of fileChunks(file, o)) {
    offset += chunk.length;
    push(chunk, false);
    for (const c of out.splice(0)) yield c;
  }
  push(new Uint8Array(0), true);
  for (const c of out.splice(0)) yield c;
}
