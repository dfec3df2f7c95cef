import { createHash } from 'node:crypto';
import { createReadStream, readSync } from 'node:fs';

/** sha256 hex of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 hex of a file already opened (and checked to be a regular file), read in pieces: it may exceed one read or one string. */
export function sha256OfOpen(fd: number, size: number): string {
  const hash = createHash('sha256');
  const piece = new Uint8Array(Math.min(size, 8 * 2 ** 20) || 1);
  for (let at = 0; at < size;) {
    const got = readSync(fd, piece, 0, Math.min(piece.length, size - at), at);
    if (got === 0) break;
    hash.update(piece.subarray(0, got));
    at += got;
  }
  return hash.digest('hex');
}
