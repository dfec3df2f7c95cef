/**
 * Index files. A chunk holds `count` rows: first a float32 block of per-row, per-module scales, then the
 * row values as float16 divided by their module's scale (so small gradients keep their precision).
 * Chunks and documents.json are written atomically and listed with their sha256 in manifest.json, which
 * is written last: a build that stopped part-way leaves no manifest and does not load.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { f16ToF32, f32ToF16 } from '../model/safetensors';
import { writeFileAtomically } from '../util/atomic';
import type { IndexChunk, IndexManifest } from './types';
import type { ResultsDocument } from '../results/types';

export const MANIFEST = 'manifest.json';

/** Encodes rows [count × rowDim] (module blocks of the given widths) into a chunk file's bytes. */
export function encodeChunk(rows: Float32Array, count: number, widths: number[]): Uint8Array {
  const rowDim = widths.reduce((a, b) => a + b, 0);
  const scales = new Float32Array(count * widths.length);
  const scaled = new Float32Array(count * rowDim);
  for (let r = 0; r < count; r++) {
    let off = 0;
    widths.forEach((w, m) => {
      let max = 0;
      for (let k = 0; k < w; k++) max = Math.max(max, Math.abs(rows[r * rowDim + off + k]));
      const s = max > 0 ? max : 1;
      scales[r * widths.length + m] = s;
      for (let k = 0; k < w; k++) scaled[r * rowDim + off + k] = rows[r * rowDim + off + k] / s;
      off += w;
    });
  }
  const half = f32ToF16(scaled);
  const out = new Uint8Array(scales.byteLength + half.byteLength);
  out.set(new Uint8Array(scales.buffer), 0);
  out.set(new Uint8Array(half.buffer), scales.byteLength);
  return out;
}

/** Decodes a chunk's bytes back to float32 rows [count × rowDim]. */
export function decodeChunk(bytes: Uint8Array, count: number, widths: number[]): Float32Array {
  const rowDim = widths.reduce((a, b) => a + b, 0);
  const scaleBytes = count * widths.length * 4;
  const expected = scaleBytes + count * rowDim * 2;
  if (bytes.byteLength !== expected) throw new Error(`chunk has ${bytes.byteLength} bytes; expected ${expected}`);
  const aligned = new Uint8Array(expected); // typed-array views need aligned offsets
  aligned.set(bytes);
  const scales = new Float32Array(aligned.buffer, 0, count * widths.length);
  const rows = f16ToF32(new Uint16Array(aligned.buffer, scaleBytes, count * rowDim));
  for (let r = 0; r < count; r++) {
    let off = 0;
    widths.forEach((w, m) => {
      const s = scales[r * widths.length + m];
      for (let k = 0; k < w; k++) rows[r * rowDim + off + k] *= s;
      off += w;
    });
  }
  return rows;
}

export function writeChunk(dir: string, first: number, rows: Float32Array, count: number, widths: number[]): IndexChunk {
  const file = `chunk-${String(first).padStart(9, '0')}.bin`;
  const bytes = encodeChunk(rows, count, widths);
  writeFileAtomically(join(dir, file), (write) => write(bytes));
  return { file, sha256: createHash('sha256').update(bytes).digest('hex'), first, count };
}

export function writeDocuments(dir: string, documents: ResultsDocument[]): { file: string; sha256: string } {
  const file = 'documents.json';
  const bytes = Buffer.from(JSON.stringify(documents));
  writeFileAtomically(join(dir, file), (write) => write(bytes));
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export function readManifest(dir: string): IndexManifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `no index in ${dir} (run influence-lens index first, or it did not finish)`, { file: path });
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as IndexManifest;
    if (m.version !== 1 || !Array.isArray(m.chunks) || !Array.isArray(m.modules)) throw new Error('not an index manifest');
    return m;
  } catch (e) {
    throw new InfluenceLensError('INDEX_CORRUPT', `unreadable index manifest: ${(e as Error).message}`, { file: path });
  }
}

/** Reads and checks one chunk file (size and hash) and decodes it. */
export function readChunk(dir: string, manifest: IndexManifest, chunk: IndexChunk): Float32Array {
  const path = join(dir, chunk.file);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} is missing`, { file: path });
  const widths = manifest.modules.map((m) => m.positions.length);
  const expected = chunk.count * (widths.length * 4 + manifest.rowDim * 2);
  const fd = openSync(path, 'r');
  let bytes: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size !== expected) {
      throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} has ${size} bytes; expected ${expected} (truncated or overwritten)`, { file: path });
    }
    bytes = Buffer.alloc(size);
    let done = 0;
    while (done < size) done += readSync(fd, bytes, done, size - done, done);
  } finally {
    closeSync(fd);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== chunk.sha256) {
    throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} does not match its hash in the manifest (corrupt); rebuild the index`, { file: path });
  }
  return decodeChunk(bytes, chunk.count, widths);
}

export function readDocuments(dir: string, manifest: IndexManifest): ResultsDocument[] {
  const path = join(dir, manifest.documentsFile);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', 'index documents.json is missing', { file: path });
  const bytes = readFileSync(path);
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.documentsSha256) {
    throw new InfluenceLensError('INDEX_CORRUPT', 'index documents.json does not match its hash in the manifest', { file: path });
  }
  return JSON.parse(bytes.toString('utf8')) as ResultsDocument[];
}
