/**
 * Index files. A chunk holds `count` document rows in three sections (RowLayout): every row's float32
 * scales, then every row's block numbers (uint16 or uint32; blocks sketch only, ascending within a
 * module), then every row's int8 values (value = int8 / 127 × its segment's scale). Chunks and
 * documents.json are written atomically and listed in manifest.json with a checksum (the scan kernel's
 * 128-bit one for chunks, which loads check at ~4.5 GB/s; sha256 for documents.json), and the manifest is
 * written last: a build that stopped part-way leaves no manifest and does not load.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { checksumOf, ScanMemory } from './kernel/scanMemory';
import { writeFileAtomically, writeTextAtomically } from '../util/atomic';
import { FILE_LIMITS, openRegularFile, readFileBounded, readJsonBounded } from '../util/files';
import { seal, verifySeal } from '../util/seal';
import { LEXICAL_FILES } from './lexical';
import { rescorePrefixBytes, rescoreRowBytes } from './rescore/layout';
import { isRescoreChunk } from './rescore/store';
import { bytesPerRow, parseSketch, positionBytes, rowLayout, sketchModules } from './sketch';
import { BLOCK, INDEX_VERSION, LANES, SKETCH_KINDS, type IndexChunk, type IndexManifest, type RowLayout } from './types';
import type { ResultsDocument } from '../results/types';

export const MANIFEST = 'manifest.json';

/** Decoded rows of one chunk. */
export interface IndexRows {
  count: number;
  /** [count × scales] */
  scales: Float32Array;
  /** [count × positions] block numbers */
  positions: Uint16Array | Uint32Array;
  /** [count × values] */
  values: Int8Array;
}

/** One document's row, packed. */
export interface PackedRow {
  scales: Float32Array;
  positions: Uint16Array | Uint32Array;
  values: Int8Array;
}

/** Int8 values of each segment scaled by its largest magnitude (dense sketches: a segment per module, or one). */
export function packDenseRow(values: ArrayLike<number>, segments: number[]): PackedRow {
  const row: PackedRow = { scales: new Float32Array(segments.length), positions: new Uint16Array(0), values: new Int8Array(values.length) };
  let off = 0;
  segments.forEach((n, s) => {
    let max = 0;
    for (let e = off; e < off + n; e++) max = Math.max(max, Math.abs(values[e]));
    const scale = max > 0 ? max : 1;
    row.scales[s] = scale;
    for (let e = off; e < off + n; e++) row.values[e] = Math.round((values[e] / scale) * 127);
    off += n;
  });
  if (off !== values.length) throw new Error(`a row of ${values.length} values for segments of ${off}`);
  return row;
}

/**
 * Packs a document's chosen blocks (distinct block numbers below `blocks[m]`, `kept[m]` per module, any
 * order, with BLOCK float values each) into ascending block numbers with int8 values scaled by each
 * module's largest magnitude.
 */
export function packBlocksRow(positions: ArrayLike<number>, values: ArrayLike<number>, kept: number[], blocks: number[]): PackedRow {
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
    private readonly layout: RowLayout,
    targetBytes = 64 << 20,
  ) {
    this.capacity = Math.max(1, Math.min(4096, Math.floor(targetBytes / bytesPerRow(layout))));
  }

  push(row: PackedRow): void {
    this.rows.push(row);
    if (this.rows.length === this.capacity) this.flush();
  }

  flush(): void {
    if (this.rows.length === 0) return;
    const first = this.written;
    const file = `chunk-${String(first).padStart(9, '0')}.bin`;
    const bytes = encodeChunk(this.rows, this.layout);
    writeFileAtomically(join(this.dir, file), (write) => write(bytes));
    this.chunks.push({ file, checksum: checksumOf(bytes, (this.scratch ??= new ScanMemory())), first, count: this.rows.length });
    this.written += this.rows.length;
    this.rows = [];
  }
}

function encodeChunk(rows: PackedRow[], layout: RowLayout): Uint8Array {
  const n = rows.length;
  const scales = new Float32Array(n * layout.scales);
  const positions = layout.positionType === 'U16' ? new Uint16Array(n * layout.positions) : new Uint32Array(n * layout.positions);
  const values = new Int8Array(n * layout.values);
  rows.forEach((r, i) => {
    scales.set(r.scales, i * layout.scales);
    positions.set(r.positions, i * layout.positions);
    values.set(r.values, i * layout.values);
  });
  const out = new Uint8Array(n * bytesPerRow(layout));
  out.set(new Uint8Array(scales.buffer), 0);
  out.set(new Uint8Array(positions.buffer), scales.byteLength);
  out.set(new Uint8Array(values.buffer), scales.byteLength + positions.byteLength);
  return out;
}

/** Byte offsets of a chunk's sections: scales (at 0), block numbers, values. */
export function chunkSections(layout: RowLayout, count: number): { positions: number; values: number } {
  const positions = count * layout.scales * 4;
  return { positions, values: positions + count * layout.positions * positionBytes(layout) };
}

function decodeChunk(bytes: Uint8Array, count: number, layout: RowLayout): IndexRows {
  const at = chunkSections(layout, count);
  const { buffer, byteOffset } = bytes; // 4-aligned: read into a buffer of its own
  const scales = new Float32Array(buffer, byteOffset, count * layout.scales);
  const n = count * layout.positions;
  const positions =
    layout.positionType === 'U16' ? new Uint16Array(buffer, byteOffset + at.positions, n) : new Uint32Array(buffer, byteOffset + at.positions, n);
  const values = new Int8Array(buffer, byteOffset + at.values, count * layout.values);
  return { count, scales, positions, values };
}

/** Row r of decoded rows, as a packed row (views, not copies). */
export function rowOf(rows: IndexRows, r: number, layout: RowLayout): PackedRow {
  return {
    scales: rows.scales.subarray(r * layout.scales, (r + 1) * layout.scales),
    positions: rows.positions.subarray(r * layout.positions, (r + 1) * layout.positions),
    values: rows.values.subarray(r * layout.values, (r + 1) * layout.values),
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
  if (m === null || typeof m !== 'object' || !Array.isArray(m.chunks) || !Array.isArray(m.modules) || typeof m.version !== 'number') {
    throw new InfluenceLensError('INDEX_CORRUPT', `unreadable index manifest: not an index manifest`, { file: path });
  }
  if (m.version !== INDEX_VERSION) {
    throw new InfluenceLensError(
      'INDEX_MISMATCH',
      `the index in ${dir} has layout version ${String(m.version)}; this tool reads version ${INDEX_VERSION} (fixed-size sketches): rebuild it with influence-lens index, or fit --index`,
      { file: path },
    );
  }
  verifySeal(m, { file: path, what: 'index manifest', code: 'INDEX_CORRUPT', remedy: 'rebuild the index' });
  const problem = layoutProblem(m);
  if (problem) throw new InfluenceLensError('INDEX_CORRUPT', `index manifest ${path}: ${problem}; rebuild the index`, { file: path });
  return m;
}

const isCount = (x: unknown, min = 0) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;

/** What is wrong with a (checksummed) manifest's layout, if anything: a hand-made one must not crash a scan. */
function layoutProblem(m: IndexManifest): string | undefined {
  const kind = m.sketch?.kind;
  if (!SKETCH_KINDS.includes(kind) || typeof m.sketch.size !== 'string') return 'unknown sketch';
  for (const mod of m.modules) if (!isCount(mod.outDim, 1) || !isCount(mod.inDim, 1)) return `module ${String(mod.name)} has an impossible shape`;
  // The layout must be the one the sketch gives these modules (which bounds every offset a scan reads).
  let expected: RowLayout;
  try {
    const choice = parseSketch(`${kind}:${m.sketch.size}`);
    const modules = sketchModules(choice, m.modules);
    if (JSON.stringify(modules) !== JSON.stringify(m.modules)) return 'its modules do not match its sketch';
    expected = rowLayout(choice, modules);
  } catch {
    return 'its sketch size is not valid';
  }
  if (JSON.stringify(expected) !== JSON.stringify(m.rows)) return 'its row layout does not match its sketch';
  if (m.rows.segments.some((w) => w % (kind === 'blocks' ? BLOCK : LANES) !== 0)) return 'a segment is not padded';
  let first = 0;
  for (const c of m.chunks) {
    if (typeof c.file !== 'string' || !/^chunk-\d+\.bin$/.test(c.file) || c.first !== first || !isCount(c.count, 1) || c.count > 4096)
      return `chunk ${JSON.stringify(c.file)} is not where the chunk list needs it`;
    first += c.count;
  }
  if (first !== m.documents) return 'the chunks listed do not cover its documents';
  if (typeof m.documentsFile !== 'string' || !/^[\w.-]+$/.test(m.documentsFile) || m.documentsFile.startsWith('.'))
    return 'the documents file is not a file in the index folder';
  if (m.lexical !== null && (typeof m.lexical !== 'object' || !LEXICAL_FILES.includes(m.lexical.file) || typeof m.lexical.sha256 !== 'string'))
    return 'its lexical index is not described';
  return m.rescore === null ? undefined : rescoreProblem(m);
}

/** What is wrong with the rescoring tier's description: its row size must follow from its rank and the modules' shapes. */
function rescoreProblem(m: IndexManifest): string | undefined {
  const t = m.rescore;
  if (!t || typeof t !== 'object' || !isCount(t.rank, 1) || !isCount(t.sketchColumns, t.rank) || !Array.isArray(t.shapes) || !Array.isArray(t.chunks))
    return 'its rescoring tier is not described';
  const shapes = m.modules.map((x) => [x.outDim, x.inDim]);
  if (JSON.stringify(t.shapes) !== JSON.stringify(shapes)) return "its rescoring tier's modules are not the index's";
  if (t.rowBytes !== rescoreRowBytes(t.rank, t.shapes)) return "its rescoring tier's row size does not match its rank";
  if (!isCount(t.prefixRank, 1) || t.prefixRank > t.rank || t.prefixBytes !== rescorePrefixBytes(t.rank, t.prefixRank, t.shapes))
    return "its rescoring tier's prefix does not match its rank";
  let first = 0;
  for (const c of t.chunks) {
    if (typeof c.file !== 'string' || !isRescoreChunk(c.file) || c.first !== first || !isCount(c.count, 1))
      return `rescoring chunk ${JSON.stringify(c.file)} is not where the chunk list needs it`;
    first += c.count;
  }
  if (first !== m.documents) return 'the rescoring chunks do not cover its documents';
  return undefined;
}

/** Bytes read from a chunk file per call: a piece is checksummed while still in cache. */
const PIECE = 4 << 20;

/** A chunk's checksum computed as its bytes arrive: `update(n)` when the first n are read, `end(size)` gives it. */
export interface ChunkChecksum {
  update(available: number): void;
  end(length: number): string;
}

/**
 * Reads one chunk file into the bytes `into(size)` gives (a fresh buffer, or a region of a scan memory)
 * and checks its size and its checksum (`checksum(bytes)` fed piece by piece as they are read).
 */
export function readChunkInto(
  dir: string,
  manifest: IndexManifest,
  chunk: IndexChunk,
  into: (size: number) => Uint8Array,
  checksum: (bytes: Uint8Array) => ChunkChecksum,
): Uint8Array {
  const path = join(dir, chunk.file);
  if (!existsSync(path)) throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} is missing`, { file: path });
  const expected = chunk.count * bytesPerRow(manifest.rows);
  const { fd, size } = openRegularFile(path, 'index chunk');
  let bytes: Uint8Array;
  let sum: string;
  try {
    if (size !== expected) {
      throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} has ${size} bytes; expected ${expected} (truncated or overwritten)`, {
        file: path,
      });
    }
    bytes = into(size);
    const hash = checksum(bytes);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, bytes, done, Math.min(PIECE, size - done), done);
      if (n === 0) throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} ended after ${done} of ${size} bytes`, { file: path });
      done += n;
      hash.update(done);
    }
    sum = hash.end(size);
  } finally {
    closeSync(fd);
  }
  if (sum !== chunk.checksum) {
    throw new InfluenceLensError('INDEX_CORRUPT', `index chunk ${chunk.file} does not match its checksum in the manifest (corrupt); rebuild the index`, {
      file: path,
    });
  }
  return bytes;
}

/** Reads, checks and decodes one chunk (for merging and inspection; scans read into a scan memory). */
export function readChunk(dir: string, manifest: IndexManifest, chunk: IndexChunk): IndexRows {
  // Its own ArrayBuffer at offset 0, so the typed views are aligned.
  const whole = (bytes: Uint8Array): ChunkChecksum => ({ update: () => undefined, end: () => checksumOf(bytes) });
  return decodeChunk(
    readChunkInto(dir, manifest, chunk, (size) => Buffer.allocUnsafeSlow(size), whole),
    chunk.count,
    manifest.rows,
  );
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
