/**
 * The index scan: a query dotted with every document's row by the WebAssembly kernel (a dense sketch's
 * values, or the blocks a document kept), over chunks read straight into a scan memory. Run by the
 * searcher itself or, split by chunks, by every compute thread (IndexPart) so that a query uses all cores.
 */
import { ScanMemory } from './kernel/scanMemory';
import { bytesPerRow, positionBytes, queryLength } from './sketch';
import { chunkSections, readChunkInto, readManifest } from './store';
import { BLOCK, type IndexChunk, type IndexManifest } from './types';

/** A query as the kernel reads it: int16 values with a float32 scale per segment (dense sketches) or module (blocks). */
export interface IndexQuery {
  /** queryLength(manifest) values: value ≈ int16 × its segment's scale. */
  values: Int16Array;
  scales: Float32Array;
}

type QueryShape = Pick<IndexManifest, 'sketch' | 'modules' | 'rows'>;

/** Widths of a query's scaled segments: a dense sketch's segments, or every module's blocks × BLOCK. */
export const querySegments = (m: QueryShape): number[] => (m.sketch.kind === 'blocks' ? m.modules.map((x) => x.blocks! * BLOCK) : m.rows.segments);

/** The chunks a thread holds when the index is split over `parts` threads: every parts-th, from `part`. */
export const chunksOfPart = (chunks: IndexChunk[], part: number, parts: number): IndexChunk[] => chunks.filter((_, c) => c % parts === part);

/** Int16 per segment, scaled by the segment's largest magnitude, from a float query of queryLength entries. */
export function quantizeQuery(vector: Float32Array, manifest: QueryShape): IndexQuery {
  if (vector.length !== queryLength(manifest)) throw new Error(`query vector has ${vector.length} entries; the index needs ${queryLength(manifest)}`);
  const segments = querySegments(manifest);
  const q: IndexQuery = { values: new Int16Array(vector.length), scales: new Float32Array(segments.length) };
  let off = 0;
  segments.forEach((width, i) => {
    const end = off + width;
    let max = 0;
    for (let p = off; p < end; p++) max = Math.max(max, Math.abs(vector[p]));
    const scale = max > 0 ? max / 32767 : 1;
    q.scales[i] = scale;
    for (let p = off; p < end; p++) q.values[p] = Math.round(vector[p] / scale);
    off = end;
  });
  return q;
}

/** Chunks held in a scan memory, and the scan over them. */
export class ChunkScanner {
  private readonly memory = new ScanMemory();
  private readonly query: number;
  /** Where each query segment starts in the scan memory (blocks: each module's). */
  private readonly queryAt: number[] = [];
  /** Dense sketches: the query's scales, the segments' widths (int32) and room for one chunk's scores. */
  private readonly queryScales: number;
  private readonly widths: number;
  private readonly scores: number;
  private readonly rowsStart: number;
  private readonly loaded: { at: number; count: number }[] = [];

  constructor(
    private readonly dir: string,
    private readonly manifest: IndexManifest,
  ) {
    const segments = querySegments(manifest);
    this.query = this.memory.alloc(queryLength(manifest) * 2);
    let at = this.query;
    for (const width of segments) {
      this.queryAt.push(at);
      at += 2 * width;
    }
    this.queryScales = this.memory.alloc(4 * segments.length);
    this.widths = this.memory.alloc(4 * manifest.rows.segments.length);
    this.memory.int32(this.widths, manifest.rows.segments.length).set(manifest.rows.segments);
    this.scores = this.memory.alloc(4 * Math.max(0, ...manifest.chunks.map((c) => c.count)));
    this.rowsStart = this.memory.alloc(0);
  }

  get documents(): number {
    return this.loaded.reduce((n, c) => n + c.count, 0);
  }

  /** Grows the scan memory once for these chunks, before they load. */
  reserve(chunks: IndexChunk[]): void {
    this.memory.ensure(this.rowsStart + chunksBytes(this.manifest, chunks));
  }

  /** Reads a chunk (checking its size and checksum) into the scan memory. */
  load(chunk: IndexChunk): void {
    let at = 0;
    readChunkInto(
      this.dir,
      this.manifest,
      chunk,
      (size) => this.memory.bytes((at = this.memory.alloc(size)), size),
      () => this.memory.checksummer(at), // in place, piece by piece as they are read: no copy
    );
    this.loaded.push({ at, count: chunk.count });
  }

  /** Drops every loaded chunk (the memory is reused by the next loads). */
  unload(): void {
    this.loaded.length = 0;
    this.memory.freeFrom(this.rowsStart);
  }

  /** Approximate I(q, d) for the loaded chunks' documents, in order. */
  scan(q: IndexQuery, out = new Float32Array(this.documents)): Float32Array {
    this.memory.int16(this.query, q.values.length).set(q.values);
    if (this.manifest.sketch.kind === 'blocks') return this.scanBlocks(q, out);
    // int8 values are 127 × value / scale: the 1/127 goes with the query's scales.
    this.memory.floats(this.queryScales, q.scales.length).set(q.scales.map((x) => x / 127));
    const { rows } = this.manifest;
    let row = 0;
    for (const { at, count } of this.loaded) {
      const sections = chunkSections(rows, count);
      this.memory.scanDense(at, at + sections.values, count, this.widths, rows.segments.length, this.query, this.queryScales, this.scores);
      out.set(this.memory.floats(this.scores, count), row);
      row += count;
    }
    return out;
  }

  private scanBlocks(q: IndexQuery, out: Float32Array): Float32Array {
    const { modules, rows } = this.manifest;
    const M = modules.length;
    const pb = positionBytes(rows);
    const wide = pb === 4;
    const { queryAt } = this;
    let row = 0;
    for (const { at, count } of this.loaded) {
      const scales = this.memory.floats(at, count * M);
      const sections = chunkSections(rows, count);
      let blocks = at + sections.positions;
      let values = at + sections.values;
      for (let r = 0; r < count; r++) {
        let total = 0;
        for (let m = 0; m < M; m++) {
          const n = modules[m].kept!;
          total += this.memory.dot(wide, blocks, values, n, queryAt[m]) * scales[r * M + m] * q.scales[m];
          blocks += n * pb;
          values += n * BLOCK;
        }
        out[row++] = total / 127;
      }
    }
    return out;
  }
}

/** Bytes the chunks take in a scan memory (each 16-byte aligned). */
const chunksBytes = (manifest: IndexManifest, chunks: IndexChunk[]) => chunks.reduce((n, c) => n + c.count * bytesPerRow(manifest.rows) + 16, 0);

/** Bytes a scanner needs to hold `chunks` (their rows and the query). */
export const scannerBytes = (manifest: IndexManifest, chunks: IndexChunk[]) =>
  64 + queryLength(manifest) * 2 + 8 * manifest.rows.segments.length + 4 * Math.max(0, ...manifest.chunks.map((c) => c.count)) + chunksBytes(manifest, chunks);

/**
 * One thread's share of an index, loaded (and checksum-checked) by that thread; or, for an index larger
 * than the memory budget (`stream`), read again chunk by chunk at every query, each chunk checked as it
 * is read and dropped after its scan, so a thread holds one chunk at a time.
 */
export class IndexPart {
  private readonly scanner: ChunkScanner;
  private readonly chunks: IndexChunk[];

  constructor(
    dir: string,
    part: number,
    parts: number,
    private readonly stream = false,
  ) {
    const manifest = readManifest(dir);
    this.scanner = new ChunkScanner(dir, manifest);
    this.chunks = chunksOfPart(manifest.chunks, part, parts);
    if (stream) return;
    this.scanner.reserve(this.chunks);
    for (const chunk of this.chunks) this.scanner.load(chunk);
  }

  get documents(): number {
    return this.chunks.reduce((n, c) => n + c.count, 0);
  }

  scan(query: IndexQuery): Float32Array {
    if (!this.stream) return this.scanner.scan(query);
    const out = new Float32Array(this.documents);
    let row = 0;
    for (const chunk of this.chunks) {
      this.scanner.load(chunk);
      this.scanner.scan(query, out.subarray(row, row + chunk.count));
      this.scanner.unload();
      row += chunk.count;
    }
    return out;
  }
}
