/**
 * The rescoring tier's files: rows of one size in chunk files (`rescore-<first row>.bin`, written
 * atomically, listed in the index manifest, which is written last). A reader opens the chunks once and
 * reads only the rows asked for, checking each row's checksum and number: a corrupted or misplaced row is
 * refused with its file named, never scored.
 */
import { closeSync, read as readAt, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../../errors';
import { writeFileAtomically } from '../../util/atomic';
import { openRegularFile } from '../../util/files';
import { rowStride } from '../../score/tasks';
import { rowIntact, sealRescoreRow, type RescoreChunk, type RescoreSettings } from './layout';

/** Rows per chunk file when no size is asked for (~64 MiB). */
const CHUNK_BYTES = 64 << 20;

export const isRescoreChunk = (file: string) => /^rescore-\d+\.bin$/.test(file);

export class RescoreWriter {
  readonly chunks: RescoreChunk[] = [];
  private pending: Uint8Array[] = [];
  private written = 0;
  private readonly capacity: number;

  constructor(
    private readonly dir: string,
    private readonly settings: RescoreSettings,
    chunkBytes = CHUNK_BYTES,
  ) {
    this.capacity = Math.max(1, Math.floor(chunkBytes / settings.rowBytes));
  }

  /** A packed row (its number and checksum are written here, in the order rows arrive). */
  push(row: Uint8Array): void {
    if (row.byteLength !== this.settings.rowBytes) throw new Error(`a rescoring row of ${row.byteLength} bytes; the layout has ${this.settings.rowBytes}`);
    this.pending.push(sealRescoreRow(row, this.written + this.pending.length, this.settings));
    if (this.pending.length === this.capacity) this.flush();
  }

  flush(): void {
    if (this.pending.length === 0) return;
    const first = this.written;
    const file = `rescore-${String(first).padStart(9, '0')}.bin`;
    const rows = this.pending;
    writeFileAtomically(join(this.dir, file), (write) => rows.forEach((r) => write(r)));
    this.chunks.push({ file, first, count: rows.length });
    this.written += rows.length;
    this.pending = [];
  }
}

/**
 * Reads in flight at once for `readAsync`. On this VM (docs/INDEX.md) 1,100 cold prefixes took 470–680 ms one
 * pread after another and 240–300 ms with reads in flight on libuv's four threads.
 */
const READ_CONCURRENCY = 16;

/** Random access to rows of the tier: each read is one pread per row, from the page cache once warm. */
export class RescoreReader {
  private readonly fds = new Map<string, number>();
  /** Asynchronous reads not finished: `close` waits for them (a closed descriptor's number can be reused). */
  private inFlight = 0;
  private closing = false;

  constructor(
    private readonly dir: string,
    readonly settings: RescoreSettings,
    private readonly chunks: RescoreChunk[],
  ) {
    for (const c of chunks) {
      const { fd, size } = openRegularFile(join(dir, c.file), 'rescoring tier chunk');
      this.fds.set(c.file, fd);
      if (size !== c.count * settings.rowBytes) {
        this.close();
        throw new InfluenceLensError('INDEX_CORRUPT', `${c.file} holds ${size} bytes; the manifest says ${c.count} rows of ${settings.rowBytes}`, {
          file: join(dir, c.file),
        });
      }
    }
  }

  /** The rows of documents at these positions (index order), or only their prefixes (layout.ts), checked. */
  read(positions: number[], o: { prefix?: boolean } = {}): Uint8Array[] {
    const { rows, n } = this.allocate(positions, o);
    return rows.map((row, i) => {
      const { fd, c, offset } = this.locate(positions[i]);
      return this.checked(row, readSync(fd, row, 0, n, offset), positions[i], c);
    });
  }

  /**
   * As `read`, with up to READ_CONCURRENCY reads in flight: rows not in the page cache come about twice as
   * fast, and this thread (a language server's) stays free for other messages meanwhile.
   */
  async readAsync(positions: number[], o: { prefix?: boolean } = {}): Promise<Uint8Array[]> {
    const { rows, n } = this.allocate(positions, o);
    let next = 0;
    const lane = async () => {
      while (next < rows.length) {
        const i = next++;
        const { fd, c, offset } = this.locate(positions[i]);
        this.inFlight++;
        let got: number;
        try {
          got = await new Promise<number>((resolve, reject) => readAt(fd, rows[i], 0, n, offset, (e, bytes) => (e ? reject(e) : resolve(bytes))));
        } finally {
          this.inFlight--;
          if (this.closing && this.inFlight === 0) this.closeNow();
        }
        this.checked(rows[i], got, positions[i], c);
      }
    };
    await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, rows.length) }, lane));
    return rows;
  }

  /** Closes the chunk files, once no asynchronous read is using them. */
  close(): void {
    this.closing = true;
    if (this.inFlight === 0) this.closeNow();
  }

  private closeNow(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }

  /** One allocation for all of them (a hover reads a thousand prefixes), laid out as packed rows are. */
  private allocate(positions: number[], o: { prefix?: boolean }): { rows: Uint8Array[]; n: number } {
    const n = o.prefix ? this.settings.prefixBytes : this.settings.rowBytes;
    const stride = rowStride(n);
    const all = new Uint8Array(stride * positions.length);
    return { rows: positions.map((_, i) => all.subarray(i * stride, i * stride + n)), n };
  }

  private locate(p: number): { fd: number; c: RescoreChunk; offset: number } {
    if (this.closing) throw new Error('the rescoring tier was closed');
    const c = this.chunkOf(p);
    return { fd: this.fds.get(c.file)!, c, offset: (p - c.first) * this.settings.rowBytes };
  }

  private checked(row: Uint8Array, got: number, p: number, c: RescoreChunk): Uint8Array {
    if (got !== row.byteLength || !rowIntact(row, p, this.settings)) {
      throw new InfluenceLensError('INDEX_CORRUPT', `row ${p - c.first} of ${c.file} is damaged (checksum or row number wrong): rebuild the index`, {
        file: join(this.dir, c.file),
      });
    }
    return row;
  }

  private chunkOf(p: number): RescoreChunk {
    let lo = 0;
    let hi = this.chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.chunks[mid].first <= p) lo = mid;
      else hi = mid - 1;
    }
    const c = this.chunks[lo];
    if (!c || p < c.first || p >= c.first + c.count) throw new RangeError(`row ${p} is outside the rescoring tier`);
    return c;
  }
}
