/**
 * A WebAssembly memory holding index rows and a query, with the scan kernel (scan.wat) bound to it. Rows
 * are read from disk straight into it; a query's scan is then one kernel call per chunk (dense sketches)
 * or per document and module (blocks).
 */
import { InfluenceLensError } from '../../errors';
import { SCAN_WASM_BASE64 } from './scanWasm';
import { align16 } from '../../util/wasmInstance';

const PAGE = 65_536;
/** WebAssembly memories (32-bit) end at 4 GiB. */
export const SCAN_MEMORY_LIMIT = 4 * 2 ** 30;

interface KernelExports {
  dot16(blocks: number, values: number, n: number, query: number): number;
  dot32(blocks: number, values: number, n: number, query: number): number;
  checksumInit(state: number): void;
  checksumUpdate(state: number, at: number, length: number): void;
  checksumFinal(state: number, length: number, out: number): void;
  scanDense(scales: number, values: number, count: number, widths: number, segments: number, query: number, queryScales: number, out: number): void;
}

let compiled: WebAssembly.Module | undefined;

export class ScanMemory {
  private readonly memory: WebAssembly.Memory;
  private readonly kernel: KernelExports;
  private top = 0;
  /** 64 bytes of checksum state, then 16 for its result. */
  private readonly state: number;

  constructor() {
    compiled ??= new WebAssembly.Module(Buffer.from(SCAN_WASM_BASE64, 'base64'));
    this.memory = new WebAssembly.Memory({ initial: 1, maximum: SCAN_MEMORY_LIMIT / PAGE });
    this.kernel = new WebAssembly.Instance(compiled, { env: { memory: this.memory } }).exports as unknown as KernelExports;
    this.state = this.alloc(80);
  }

  /** Reserves `bytes` (16-byte aligned) and returns their offset, growing the memory as needed. */
  alloc(bytes: number): number {
    const at = this.top;
    this.top = align16(at + bytes);
    this.ensure(this.top);
    return at;
  }

  /** Grows the memory to hold `bytes` in all, at once (each grow costs the thread a garbage collection or more). */
  ensure(bytes: number): void {
    if (bytes > SCAN_MEMORY_LIMIT) {
      throw new InfluenceLensError(
        'OUT_OF_MEMORY',
        `an index part of ${bytes} bytes does not fit one scan memory (4 GiB); open it with more compute threads or a smaller memory budget, which streams it`,
      );
    }
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
  }

  /** Everything this memory holds is free again, except the checksum's state. */
  clear(): void {
    this.top = this.state + 80;
  }

  /** Everything after `offset` is free again. */
  freeFrom(offset: number): void {
    this.top = offset;
  }

  /** A view of the memory (valid until it next grows). */
  bytes(offset: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, offset, length);
  }

  floats(offset: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, offset, length);
  }

  int16(offset: number, length: number): Int16Array {
    return new Int16Array(this.memory.buffer, offset, length);
  }

  int32(offset: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, offset, length);
  }

  /**
   * The 128-bit checksum (scan.wat) of `length` bytes at `at`, as 32 hex digits. The bytes must lie in a
   * region from alloc(), whose 16-byte padding this zeroes first.
   */
  checksum(at: number, length: number): string {
    const sum = this.checksummer(at);
    sum.update(length);
    return sum.end(length);
  }

  /**
   * A checksum fed as bytes arrive at `at` (a region from alloc()): `update(n)` once the first n bytes are
   * there takes every whole group of 64 among them, while they are still in cache; `end(length)` zeroes the
   * padding and takes the rest. One at a time per memory (they share the state).
   */
  checksummer(at: number): { update(available: number): void; end(length: number): string } {
    this.kernel.checksumInit(this.state);
    let done = 0;
    return {
      update: (available) => {
        const upTo = available - (available % 64);
        if (upTo > done) this.kernel.checksumUpdate(this.state, at + done, upTo - done);
        done = Math.max(done, upTo);
      },
      end: (length) => {
        const padded = align16(length);
        this.bytes(at + length, padded - length).fill(0);
        this.kernel.checksumUpdate(this.state, at + done, padded - done);
        this.kernel.checksumFinal(this.state, length, this.state + 64);
        return Buffer.from(this.bytes(this.state + 64, 16)).toString('hex');
      },
    };
  }

  /**
   * Scores of `count` dense-sketch rows (scan.wat's scanDense): their scales at `scales`, values at
   * `values`, segment widths (int32) at `widths`, the int16 query and its float32 scales, scores to `out`.
   */
  scanDense(scales: number, values: number, count: number, widths: number, segments: number, query: number, queryScales: number, out: number): void {
    this.kernel.scanDense(scales, values, count, widths, segments, query, queryScales, out);
  }

  /** Σ over `n` blocks of int8 values · int16 query (see scan.wat); `wide`: uint32 block numbers. */
  dot(wide: boolean, blocks: number, values: number, n: number, query: number): number {
    return wide ? this.kernel.dot32(blocks, values, n, query) : this.kernel.dot16(blocks, values, n, query);
  }
}

/** The checksum of bytes held outside a scan memory (copied into a scratch one, kept for the next call). */
export function checksumOf(bytes: Uint8Array, scratch = new ScanMemory()): string {
  scratch.clear();
  const at = scratch.alloc(bytes.length);
  scratch.bytes(at, bytes.length).set(bytes);
  return scratch.checksum(at, bytes.length);
}
