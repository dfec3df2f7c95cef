/**
 * Index files. A chunk holds `count` document rows, each the document's kept blocks module after module:
 * a float32 block of per-row, per-module scales, then every row's block numbers (uint16 or uint32,
 * ascending within a module), then every row's values, BLOCK int8 per block (value = int8 / 127 × scale).
 * Chunks and documents.json are written atomically and listed in manifest.json with a checksum (the
 * scan kernel's 128-bit one for chunks, which loads check at ~4.5 GB/s; sha256 for documents.json), and
 * the manifest is written last: a build that stopped part-way leaves no manifest and does not load.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { checksumOf, ScanMemory } from './kernel/scanMemory';
import { writeFileAtomically, writeTextAtomically } from '../util/atomic';
import { FILE_LIMITS, openRegularFile, readFileBounded, readJsonBounded } from '../util/files';
import { seal, verifySeal } from '../util/seal';
import { BLOCK, INDEX_VERSION, type IndexChunk, type IndexManifest, type IndexSettings } from './types';
import type { ResultsDocument } from '../results/types';

export const MANIFEST = 'manifest.json';

/** Decoded rows of one chunk. */
export interface IndexRows {
  count: number;
  /** [count × modules] */
  scales: Float32Array;
  /** [count × kept blocks] block numbers */
  positions: Uint16Array | Uint32Array;
  /** [count × kept blocks × BLOCK] */
  values: Int8Array;
}

/** One document's kept blocks, packed: per module a scale, then block numbers (ascending) and int8 values. */
export interface PackedRow {
  scales: Float32Array;
  positions: Uint16Array | Uint32Array;
  values: Int8Array;
}

type Layout = Pick<IndexManifest, 'modules' | 'settings'>;

/** Blocks a document keeps, over all modules. */
export const keptBlocks = (manifest: Pick<IndexManifest, 'modules'>) => manifest.modules.reduce((n, m) => n + m.kept, 0);

export function bytesPerRow(manifest: Layout): number {
  return manifest.modules.length * 4 + keptBlocks(manifest) * (positionBytes(manifest.settings) + BLOCK);
}

export const positionBytes = (s: Pick<IndexSettings, 'positions'>) => (s.positions === 'U16' ? 2 : 4);

/**
 * Packs a document's chosen blocks (distinct block numbers below `blocks[m]`, `kept[m]` per module, any
 * order, with BLOCK float values each) into ascending block numbers with int8 values scaled by each
 * module's largest magnitude.
 */
export function packRow(positions: ArrayLike<number>, values: ArrayLike<number>, kept: number[], blocks: number[]): PackedRow {
  const total = kept.reduce((a, b) => a + b, 0);
  const row: PackedRow = { scales: new Float32Array(kept.length), positions: new Uint32Array(total), values: new Int8Array(total * BLOCK) };
  let off = 0;
  kept.forEach((k, m) => {
    // Ascending block numbers by a pass over the module's slots (cheaper than sorting k blocks).
    const slot = new Int32Array(blocks[m]).fill(-1);
    let max = 0;
    for (let j = off; j < off + k; j++) {
      slot[positions[j]] = j;
      for (let e = j * BLOCK; e < (j + 1) * BLOCK; e++) max = Math.max(max, Math.abs(values[e]));
    }
    const scale = max > 0 ? max : 1;
    row.scales[m] = scale;
    let t = off;
    for (let p = 0; p < slot.length; p++) {
      const j = slot[p];
      if (j < 0) continue;
      row.positions[t] = p;
      for (let e = 0; e < BLOCK; e++) row.values[t * BLOCK + e] = Math.round((values[j * BLOCK + e] / scale) * 127);
      t++;
    }
    if (t !== off + k) throw new Error(`module ${m}: ${k} blocks expected, ${t - off} distinct block numbers`);
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
  /** Where chunks are checksummed (kept: one per writer, not per chunk). */
  private scratch: ScanMemory | undefined;

  constructor(
    private readonly dir: string,
    private readonly manifest: Layout,
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
    this.chunks.push({ file, checksum: checksumOf(bytes, (this.scratch ??= new ScanMemory())), first, count: this.rows.length });
    this.written += this.rows.length;
    this.rows = [];
  }
}

function encodeChunk(rows: PackedRow[], manifest: Layout): Uint8Array {
  const n = rows.length;
  const M = manifest.modules.length;
  const K = keptBlocks(manifest);
  const scales = new Float32Array(n * M);
  const positions = manifest.settings.positions === 'U16' ? new Uint16Array(n * K) : new Uint32Array(n * K);
  const values = new Int8Array(n * K * BLOCK);
  rows.forEach((r, i) => {
    scales.set(r.scales, i * M);
    positions.set(r.positions, i * K);
    values.set(r.values, i * K * BLOCK);
  });
  const out = new Uint8Array(n * bytesPerRow(manifest));
  out.set(new Uint8Array(scales.buffer), 0);
  out.set(new Uint8Array(positions.buffer), scales.byteLength);
  out.set(new Uint8Array(values.buffer), scales.byteLength + positions.byteLength);
  return out;
}

/** Byte offsets of a chunk's sections: scales, block numbers, values. */
export function chunkSections(manifest: Layout, count: number): { positions: number; values: number } {
  const positions = count * manifest.modules.length * 4;
  return { positions, values: positions + count * keptBlocks(manifest) * positionBytes(manifest.settings) };
}

function decodeChunk(bytes: Uint8Array, count: number, manifest: IndexManifest): IndexRows {
  const M = manifest.modules.length;
  const K = keptBlocks(manifest);
  const at = chunkSections(manifest, count);
  const { buffer, byteOffset } = bytes; // 4-aligned: read into a buffer of its own
  const scales = new Float32Array(buffer, byteOffset, count * M);
  const positions = manifest.settings.positions === 'U16' ? new Uint16Array(buffer, byteOffset + at.positions, count * K) : new Uint32Array(buffer, byteOffset + at.positions, count * K);
  const values = new Int8Array(buffer, byteOffset + at.values, count * K * BLOCK);
  return { count, scales, positions, values };
}

/** Row r of decoded rows, as a packed row (views, not copies). */
export function rowOf(rows: IndexRows, r: number, manifest: IndexManifest): PackedRow {
  const M = manifest.modules.length;
  const K = keptBlocks(manifest);
  return {
    scales: rows.scales.subarray(r * M, (r + 1) * M),
    positions: rows.positions.subarray(r * K, (r + 1) * K),
    values: rows.values.subarray(r * K * BLOCK, (r + 1) * K * BLOCK),
  };
}

export function writeDocuments(dir: string, documents: ResultsDocument[]): { file: string; sha256: string } {
  const file = 'documents.json';
  const bytes = Buffer.from(JSON.stringify(documents));
  writeFileAtomically(join(dir, file), (write) => write(bytes));
  return { file, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** Writes the manifest, sealed, atomically: the last file of a build or merge. */
export function writeManifest(dir: string, manifest: IndexManifest): IndexManifest {
  const sealed = seal(manifest);
  writeTextAtomically(join(dir, MANIFEST), JSON.stringify(sealed) + '\n');
  return sealed;
}

export function readManifest(dir: string): IndexManifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `no index in ${dir} (run influence-lens index first, or it did not finish)`, { file: path });
  const m = readJsonBounded(path, { what: 'index manifest', maxBytes: FILE_LIMITS.smallJson, code: 'INDEX_CORRUPT' }) as IndexManifest;
  if (m === null || typeof m !== 'object' || !Array.isArray(m.chunks) || !Array.isArray(m.modules)) {
    throw new InfluenceLensError('INDEX_CORRUPT', `unreadable index manifest: not an index manifest`, { file: path });
  }
  if (m.version !== INDEX_VERSION) {
    throw new InfluenceLensError('INDEX_MISMATCH', `the index in ${dir} has layout version ${String(m.version)}; this tool reads version ${INDEX_VERSION}: rebuild it`, { file: path });
  }
  verifySeal(m, { file: path, what: 'index manifest', code: 'INDEX_CORRUPT', remedy: 'rebuild the index' });
  const problem = layoutProblem(m);
  if (problem) throw new InfluenceLensError('INDEX_CORRUPT', `index manifest ${path}: ${problem}; rebuild the index`, { file: path });
  return m;
}

const isCount = (x: unknown, min = 0) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;

/** What is wrong with a (checksummed) manifest's layout, if anything: a hand-made one must not crash a scan. */
function layoutProblem(m: IndexManifest): string | undefined {
  if (m.settings?.positions !== 'U16' && m.settings?.positions !== 'U32') return 'unknown block number type';
  for (const mod of m.modules) {
    if (!isCount(mod.outDim, 1) || !isCount(mod.inDim, 1) || mod.blocks !== Math.ceil((mod.outDim * mod.inDim) / BLOCK) || !isCount(mod.kept, 1) || mod.kept > mod.blocks) {
      return `module ${String(mod.name)} has an impossible layout`;
    }
    if (m.settings.positions === 'U16' && mod.blocks > 65_536) return `module ${mod.name} has more blocks than uint16 block numbers address`;
  }
  let first = 0;
  for (const c of m.chunks) {
    if (typeof c.file !== 'string' || !/^chunk-\d+\.bin$/.test(c.file) || c.first !== first || !isCount(c.count, 1)) return `chunk ${JSON.stringify(c.file)} is not where the chunk list needs it`;
    first += c.count;
  }
  if (first !== m.documents) return 'the chunks listed do not cover its documents';
  if (typeof m.documentsFile !== 'string' || !/^[\w.-]+$/.test(m.documentsFile) || m.documentsFile.startsWith('.')) return 'the documents file is not a file in the index folder';
  return undefined;
}

/**
 * Reads one chunk file into the bytes `into(size)` gives (a fresh buffer, or a region of a scan memory)
 * and checks its size and, with `checksum`, its checksum.
 */
export function readChunkInto(dir: string, manifest: IndexManifest, chunk: IndexChunk, into: (size: number) => Uint8Array, checksum: (bytes: Uint8Array) => string): Uint8Array {
  const path = join(dir, chunk.file);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} is missing`, { file: path });
  const expected = chunk.count * bytesPerRow(manifest);
  const { fd, size } = openRegularFile(path, 'index chunk');
  let bytes: Uint8Array;
  try {
    if (size !== expected) {
      throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} has ${size} bytes; expected ${expected} (truncated or overwritten)`, { file: path });
    }
    bytes = into(size);
    let done = 0;
    while (done < size) done += readSync(fd, bytes, done, size - done, done);
  } finally {
    closeSync(fd);
  }
  if (checksum(bytes) !== chunk.checksum) {
    throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} does not match its checksum in the manifest (corrupt); rebuild the index`, { file: path });
  }
  return bytes;
}

/** Reads, checks and decodes one chunk (for merging and inspection; scans read into a scan memory). */
export function readChunk(dir: string, manifest: IndexManifest, chunk: IndexChunk): IndexRows {
  // Its own ArrayBuffer at offset 0, so the typed views are aligned.
  return decodeChunk(readChunkInto(dir, manifest, chunk, (size) => Buffer.allocUnsafeSlow(size), (bytes) => checksumOf(bytes)), chunk.count, manifest);
}

export function readDocuments(dir: string, manifest: IndexManifest): ResultsDocument[] {
  const path = join(dir, manifest.documentsFile);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', 'index documents.json is missing', { file: path });
  const bytes = readFileBounded(path, { what: 'index documents', maxBytes: FILE_LIMITS.largeJson });
  if (createHash('sha256').update(bytes).digest('hex') !== manifest.documentsSha256) {
    throw new InfluenceLensError('INDEX_CORRUPT', 'index documents.json does not match its hash in the manifest', { file: path });
  }
  return JSON.parse(bytes.toString('utf8')) as ResultsDocument[];
}
