/**
 * The index scan: a query dotted with each document's kept blocks by the WebAssembly kernel, over chunks
 * read straight into a scan memory. Run by the searcher itself or, split by chunks, by every compute thread
 * (IndexPart) so that a query uses all cores.
 */
import { ScanMemory } from './kernel/scanMemory';
import { bytesPerRow, chunkSections, positionBytes, readChunkInto, readManifest } from './store';
import { BLOCK, type IndexChunk, type IndexManifest } from './types';

/** A query as the kernel reads it: per module, its blocks' int16 values (transposed order) and a scale. */
export interface IndexQuery {
  /** Σ over modules of blocks × BLOCK: value ≈ int16 × the module's scale. */
  values: Int16Array;
  /** Per module. */
  scales: Float32Array;
}

/** The chunks a thread holds when the index is split over `parts` threads: every parts-th, from `part`. */
export const chunksOfPart = (chunks: IndexChunk[], part: number, parts: number): IndexChunk[] => chunks.filter((_, c) => c % parts === part);

/** Entries of a query: every module's blocks × BLOCK, module after module. */
export const queryLength = (manifest: Pick<IndexManifest, 'modules'>) => manifest.modules.reduce((n, m) => n + m.blocks * BLOCK, 0);

/** Int16 per module, scaled by the module's largest magnitude, from a float query of queryLength entries. */
export function quantizeQuery(vector: Float32Array, manifest: Pick<IndexManifest, 'modules'>): IndexQuery {
  if (vector.length !== queryLength(manifest)) throw new Error(`query vector has ${vector.length} entries; the index needs ${queryLength(manifest)}`);
  const q: IndexQuery = { values: new Int16Array(vector.length), scales: new Float32Array(manifest.modules.length) };
  let off = 0;
  manifest.modules.forEach((m, i) => {
    const end = off + m.blocks * BLOCK;
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
  /** Where each module's query starts in the scan memory. */
  private readonly queryAt: number[] = [];
  private readonly rowsStart: number;
  private readonly loaded: { at: number; count: number }[] = [];

  constructor(
    private readonly dir: string,
    private readonly manifest: IndexManifest,
  ) {
    this.query = this.memory.alloc(queryLength(manifest) * 2);
    let at = this.query;
    for (const m of manifest.modules) {
      this.queryAt.push(at);
      at += 2 * BLOCK * m.blocks;
    }
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
      (bytes) => this.memory.checksum(at, bytes.length), // in place: no copy
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
    const { modules } = this.manifest;
    const M = modules.length;
    const pb = positionBytes(this.manifest.settings);
    const wide = pb === 4;
    const { queryAt } = this;
    let row = 0;
    for (const { at, count } of this.loaded) {
      const scales = this.memory.floats(at, count * M);
      const sections = chunkSections(this.manifest, count);
      let blocks = at + sections.positions;
      let values = at + sections.values;
      for (let r = 0; r < count; r++) {
        let total = 0;
        for (let m = 0; m < M; m++) {
          const n = modules[m].kept;
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
const chunksBytes = (manifest: IndexManifest, chunks: IndexChunk[]) => chunks.reduce((n, c) => n + c.count * bytesPerRow(manifest) + 16, 0);

/** Bytes a scanner needs to hold `chunks` (their rows and the query). */
export const scannerBytes = (manifest: IndexManifest, chunks: IndexChunk[]) => 32 + queryLength(manifest) * 2 + chunksBytes(manifest, chunks);

/** One thread's share of an index, loaded (and hash-checked) by that thread. */
export class IndexPart {
  private readonly scanner: ChunkScanner;

  constructor(dir: string, part: number, parts: number) {
    const manifest = readManifest(dir);
    this.scanner = new ChunkScanner(dir, manifest);
    const chunks = chunksOfPart(manifest.chunks, part, parts);
    this.scanner.reserve(chunks);
    for (const chunk of chunks) this.scanner.load(chunk);
  }

  get documents(): number {
    return this.scanner.documents;
  }

  scan(query: IndexQuery): Float32Array {
    return this.scanner.scan(query);
  }
}

