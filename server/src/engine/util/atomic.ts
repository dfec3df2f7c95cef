/** Atomic file writes: a temp file in the same folder, fsync, rename. A crash never leaves a half-written file under the real name. */
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence } from './files';

/**
 * Writes `path` through a temp file in the same folder, fsynced then renamed, so readers never
 * see a half-written file. Shared by the model writers.
 */
export function writeFileAtomically(path: string, body: (write: (bytes: Uint8Array) => void) => void): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new InfluenceLensError('IO', fsErrorSentence(e, path, 'write'), { file: path, cause: e });
  }
  let open = true;
  try {
    let position = 0;
    body((bytes) => {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
      position += bytes.length;
    });
    fsyncSync(fd);
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    // A full disk or a read-only folder: a sentence naming the file, not raw errno text.
    if (typeof (e as NodeJS.ErrnoException).syscall === 'string')
      throw new InfluenceLensError('IO', fsErrorSentence(e, path, 'write'), { file: path, cause: e });
    throw e;
  }
}

/** Writes text (e.g. JSON) atomically. */
export function writeTextAtomically(path: string, text: string): void {
  writeFileAtomically(path, (write) => write(Buffer.from(text, 'utf8')));
}
