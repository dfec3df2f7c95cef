/**
 * Cached score matrices of an evaluation, one per method: `<dir>/<method>.f32` (float32, queries ×
 * documents, row-major) and `<dir>/<method>.json` naming what they were computed from (a key over the
 * model, corpus, queries and the method's settings) and a sha256 of the matrix. Written atomically,
 * the JSON last; a key or checksum that differs means "compute again".
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomically, writeTextAtomically } from '../util/atomic';

export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

interface Entry {
  key: string;
  length: number;
  sha256: string;
  seconds: number;
}

export class ScoreCache {
  constructor(readonly dir: string) {}

  get(method: string, key: string): { scores: Float32Array; seconds: number } | undefined {
    const meta = join(this.dir, `${method}.json`);
    const data = join(this.dir, `${method}.f32`);
    if (!existsSync(meta) || !existsSync(data)) return undefined;
    let e: Entry;
    try {
      e = JSON.parse(readFileSync(meta, 'utf8')) as Entry;
    } catch {
      return undefined;
    }
    if (e.key !== key) return undefined;
    const bytes = readFileSync(data);
    if (bytes.length !== e.length * 4 || createHash('sha256').update(bytes).digest('hex') !== e.sha256) return undefined;
    const scores = new Float32Array(e.length);
    new Uint8Array(scores.buffer).set(bytes);
    return { scores, seconds: e.seconds };
  }

  put(method: string, key: string, scores: Float32Array, seconds: number): void {
    mkdirSync(this.dir, { recursive: true });
    const bytes = new Uint8Array(scores.buffer, scores.byteOffset, scores.byteLength);
    writeFileAtomically(join(this.dir, `${method}.f32`), (write) => write(bytes));
    const entry: Entry = { key, length: scores.length, sha256: createHash('sha256').update(bytes).digest('hex'), seconds };
    writeTextAtomically(join(this.dir, `${method}.json`), JSON.stringify(entry) + '\n');
  }
}
