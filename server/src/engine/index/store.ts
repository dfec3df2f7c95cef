/**
 * Index files. A chunk holds `count` document rows, each the document's kept entries module after module:
 * a float32 block of per-row, per-module scales, then every row's positions (uint16 or uint32, ascending
 * within a module), then every row's values as int8 (value = int8 / 127 × scale). Chunks and
 * documents.json are written atomically and listed with their sha256 in manifest.json, which is written
 * last: a build that stopped part-way leaves no manifest and does not load.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { writeFileAtomically } from '../util/atomic';
import type { IndexChunk, IndexManifest, IndexSettings } from './types';
import type { ResultsDocument } from '../results/types';

export const MANIFEST = 'manifest.json';

/** Decoded rows of one chunk. */
export interface IndexRows {
  count: number;
  /** [count × modules] */
  scales: Float32Array;
  /** [count × entries] */
  positions: Uint16Array | Uint32Array;
  /** [count × entries] */
  values: Int8Array;
}

/** One document's kept entries, packed: per module a scale, then positions (ascending) and int8 values. */
export interface PackedRow {
  scales: Float32Array;
  positions: Uint16Array | Uint32Array;
  values: Int8Array;
}

export function bytesPerRow(manifest: Pick<IndexManifest, 'modules' | 'entries' | 'settings'>): number {
  return manifest.modules.length * 4 + manifest.entries * (positionBytes(manifest.settings) + 1);
}

const positionBytes = (s: Pick<IndexSettings, 'positions'>) => (s.positions === 'U16' ? 2 : 4);

/**
 * Packs a document's chosen entries (distinct positions below `sizes[m]` and float values, `kept[m]` per
 * module, any order) into ascending positions with int8 values scaled by each module's largest magnitude.
 */
export function packRow(positions: ArrayLike<number>, values: ArrayLike<number>, kept: number[], sizes: number[]): PackedRow {
  const entries = kept.reduce((a, b) => a + b, 0);
  const row: PackedRow = { scales: new Float32Array(kept.length), positions: new Uint32Array(entries), values: new Int8Array(entries) };
  let off = 0;
  kept.forEach((k, m) => {
    // Ascending positions by a pass over the module's slots (cheaper than sorting k entries).
    const slot = new Int32Array(sizes[m]).fill(-1);
    let max = 0;
    for (let j = off; j < off + k; j++) {
      slot[positions[j]] = j;
      max = Math.max(max, Math.abs(values[j]));
    }
    const scale = max > 0 ? max : 1;
    row.scales[m] = scale;
    let t = off;
    for (let p = 0; p < slot.length; p++) {
      const j = slot[p];
      if (j < 0) continue;
      row.positions[t] = p;
      row.values[t++] = Math.round((values[j] / scale) * 127);
    }
    if (t !== off + k) throw new Error(`module ${m}: ${k} entries expected, ${t - off} distinct positions`);
    off += k;
  });
  return row;
}

/** Collects packed rows and writes them as chunks of a bounded size. */
export class ChunkWriter {
  readonly chunks: IndexChunk[] = [];
  private rows: PackedRow[] = [];
  private written = 0;
  private readonly capacity: number;

  constructor(
    private readonly dir: string,
    private readonly manifest: Pick<IndexManifest, 'modules' | 'entries' | 'settings'>,
    targetBytes = 64 << 20,
  ) {
    this.capacity = Math.max(1, Math.min(4096, Math.floor(targetBytes / bytesPerRow(manifest))));
  }

  push(row: PackedRow): void {
    this.rows.push(row);
    if (this.rows.length === this.capacity) this.flush();
  }

  flush(): void {
    if (this.rows.length === 0) return;
    const first = this.written;
    const file = `chunk-${String(first).padStart(9, '0')}.bin`;
    const bytes = encodeChunk(this.rows, this.manifest);
    writeFileAtomically(join(this.dir, file), (write) => write(bytes));
    this.chunks.push({ file, sha256: createHash('sha256').update(bytes).digest('hex'), first, count: this.rows.length });
    this.written += this.rows.length;
    this.rows = [];
  }
}

function encodeChunk(rows: PackedRow[], manifest: Pick<IndexManifest, 'modules' | 'entries' | 'settings'>): Uint8Array {
  const n = rows.length;
  const M = manifest.modules.length;
  const E = manifest.entries;
  const scales = new Float32Array(n * M);
  const positions = manifest.settings.positions === 'U16' ? new Uint16Array(n * E) : new Uint32Array(n * E);
  const values = new Int8Array(n * E);
  rows.forEach((r, i) => {
    scales.set(r.scales, i * M);
    positions.set(r.positions, i * E);
    values.set(r.values, i * E);
  });
  const out = new Uint8Array(n * bytesPerRow(manifest));
  out.set(new Uint8Array(scales.buffer), 0);
  out.set(new Uint8Array(positions.buffer), scales.byteLength);
  out.set(new Uint8Array(values.buffer), scales.byteLength + positions.byteLength);
  return out;
}

function decodeChunk(bytes: Uint8Array, count: number, manifest: IndexManifest): IndexRows {
  const M = manifest.modules.length;
  const E = manifest.entries;
  // Typed-array views need aligned offsets: copy only when the bytes do not start on one.
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : Uint8Array.from(bytes);
  const scales = new Float32Array(aligned.buffer, aligned.byteOffset, count * M);
  const positions = manifest.settings.positions === 'U16' ? new Uint16Array(aligned.buffer, aligned.byteOffset + scales.byteLength, count * E) : new Uint32Array(aligned.buffer, aligned.byteOffset + scales.byteLength, count * E);
  const values = new Int8Array(aligned.buffer, aligned.byteOffset + scales.byteLength + positions.byteLength, count * E);
  return { count, scales, positions, values };
}

/** Row r of decoded rows, as a packed row (views, not copies). */
export function rowOf(rows: IndexRows, r: number, manifest: IndexManifest): PackedRow {
  const M = manifest.modules.length;
  const E = manifest.entries;
  return {
    scales: rows.scales.subarray(r * M, (r + 1) * M),
    positions: rows.positions.subarray(r * E, (r + 1) * E),
    values: rows.values.subarray(r * E, (r + 1) * E),
  };
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
  let m: IndexManifest;
  try {
    m = JSON.parse(readFileSync(path, 'utf8')) as IndexManifest;
    if (!Array.isArray(m.chunks) || !Array.isArray(m.modules)) throw new Error('not an index manifest');
  } catch (e) {
    throw new InfluenceLensError('INDEX_CORRUPT', `unreadable index manifest: ${(e as Error).message}`, { file: path });
  }
  if (m.version !== 2) throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} has layout version ${String(m.version)}; this tool reads version 2: rebuild it`, { file: path });
  return m;
}

/** Reads and checks one chunk file (size and hash) and decodes it. */
export function readChunk(dir: string, manifest: IndexManifest, chunk: IndexChunk): IndexRows {
  const path = join(dir, chunk.file);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} is missing`, { file: path });
  const expected = chunk.count * bytesPerRow(manifest);
  const fd = openSync(path, 'r');
  let bytes: Buffer;
  try {
    const size = fstatSync(fd).size;
    if (size !== expected) {
      throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} has ${size} bytes; expected ${expected} (truncated or overwritten)`, { file: path });
    }
    bytes = Buffer.allocUnsafeSlow(size); // its own ArrayBuffer at offset 0, filled below
    let done = 0;
    while (done < size) done += readSync(fd, bytes, done, size - done, done);
  } finally {
    closeSync(fd);
  }
  if (createHash('sha256').update(bytes).digest('hex') !== chunk.sha256) {
    throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} does not match its hash in the manifest (corrupt); rebuild the index`, { file: path });
  }
  return decodeChunk(bytes, chunk.count, manifest);
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
