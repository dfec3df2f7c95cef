/**
 * safetensors reader/writer (https://github.com/huggingface/safetensors#format):
 * u64 LE header length N, N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]},
 * __metadata__?: {string: string}}, then the data; offsets are relative to the data start.
 * F32, F16 and BF16 are read into Float32Array; other dtypes are refused.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { endianness } from 'node:os';
import { writeFileAtomically } from '../util/atomic';
import { jsonSyntaxReason, openRegularFile } from '../util/files';
import { InfluenceLensError } from '../errors';
import type { HostTensor } from './types';

export type FloatDtype = 'F32' | 'F16' | 'BF16';

export interface SafetensorsEntry {
  /** As written in the file; may be a dtype we cannot read (readSafetensors refuses those). */
  dtype: string;
  shape: number[];
  /** [begin, end) relative to the start of the data section. */
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  path: string;
  fileSize: number;
  /** Absolute file offset of the data section (8 + header length). */
  dataStart: number;
  metadata: Record<string, string>;
  tensors: Map<string, SafetensorsEntry>;
}

export interface WriteSafetensorsOptions {
  dtype?: FloatDtype;
  metadata?: Record<string, string>;
}

const BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
/** The spec caps the header at 100 MB; anything larger means this is not a safetensors file. */
const MAX_HEADER = 100_000_000;

// Typed-array views below reinterpret bytes in host order; the files are little-endian.
if (endianness() !== 'LE') throw new Error('Influence Lens needs a little-endian host');

function formatError(path: string, what: string): InfluenceLensError {
  return new InfluenceLensError('MODEL_FORMAT', `${path}: not a valid safetensors file: ${what}`, { file: path });
}

function readExactly(fd: number, buf: Uint8Array, position: number, path: string): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, buf.length - done, position + done);
    if (n === 0) {
      throw new InfluenceLensError('TRUNCATED', `${path}: file ended early: expected at least ${position + buf.length} bytes, got ${position + done}`, {
        file: path,
      });
    }
    done += n;
  }
}

function readHeaderFd(fd: number, path: string): SafetensorsHeader {
  const fileSize = fstatSync(fd).size;
  if (fileSize < 8) {
    throw new InfluenceLensError('TRUNCATED', `${path}: truncated safetensors file: expected at least 8 bytes, got ${fileSize}`, {
      file: path,
    });
  }
  const lenBuf = Buffer.alloc(8);
  readExactly(fd, lenBuf, 0, path);
  const headerLen = Number(lenBuf.readBigUInt64LE(0));
  if (headerLen < 2 || headerLen > MAX_HEADER) throw formatError(path, `header length ${headerLen} is out of range`);
  if (8 + headerLen > fileSize) {
    throw new InfluenceLensError('TRUNCATED', `${path}: truncated safetensors file: header needs ${8 + headerLen} bytes, file has ${fileSize}`, { file: path });
  }
  const headerBuf = Buffer.alloc(headerLen);
  readExactly(fd, headerBuf, 8, path);
  let json: unknown;
  try {
    json = JSON.parse(headerBuf.toString('utf8'));
  } catch (e) {
    // Never V8's excerpt of the header: the path may lead to a file whose bytes must not be shown.
    throw formatError(path, `malformed header JSON in bytes 8–${8 + headerLen} (${jsonSyntaxReason(e)})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw formatError(path, 'header is not a JSON object');

  const dataStart = 8 + headerLen;
  const dataLen = fileSize - dataStart;
  const tensors = new Map<string, SafetensorsEntry>();
  let metadata: Record<string, string> = {};
  let maxEnd = 0;
  for (const [name, raw] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof raw !== 'object' || raw === null) throw formatError(path, '__metadata__ is not an object');
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = parseEntry(raw);
    if (typeof entry === 'string') throw formatError(path, `tensor "${name}": ${entry}`);
    const size = BYTES[entry.dtype];
    const [begin, end] = entry.dataOffsets;
    const numel = entry.shape.reduce((a, b) => a * b, 1);
    if (size !== undefined && end - begin !== numel * size) {
      throw formatError(
        path,
        `tensor "${name}" (${entry.dtype} ${JSON.stringify(entry.shape)}) needs ${numel * size} bytes but data_offsets span ${end - begin}`,
      );
    }
    maxEnd = Math.max(maxEnd, end);
    tensors.set(name, entry);
  }
  if (maxEnd > dataLen) {
    throw new InfluenceLensError('TRUNCATED', `${path}: truncated safetensors file: expected at least ${dataStart + maxEnd} bytes, got ${fileSize}`, {
      file: path,
    });
  }
  const hole = tilingError(tensors, dataLen);
  if (hole) throw formatError(path, hole);
  return { path, fileSize, dataStart, metadata, tensors };
}

/**
 * The format's rule that tensors tile the data section exactly: in offset order, each begins where the
 * previous one ends, the first at 0 and the last at the end of the file. Overlapping tensors would share
 * bytes (the model silently another one); gaps and trailing bytes hold data no tensor accounts for.
 */
function tilingError(tensors: Map<string, SafetensorsEntry>, dataLen: number): string | undefined {
  const spans = [...tensors].map(([name, e]) => ({ name, begin: e.dataOffsets[0], end: e.dataOffsets[1] }));
  spans.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let at = 0;
  let previous = '';
  for (const s of spans) {
    if (s.begin < at) return `tensor "${s.name}" (bytes ${s.begin}–${s.end}) overlaps tensor "${previous}" (which ends at ${at})`;
    if (s.begin > at) return `${s.begin - at} bytes between ${previous ? `tensor "${previous}"` : 'the header'} and tensor "${s.name}" belong to no tensor`;
    at = s.end;
    previous = s.name;
  }
  if (at !== dataLen) return `${dataLen - at} bytes after ${previous ? `the last tensor ("${previous}")` : 'the header'} belong to no tensor`;
  return undefined;
}

function isCount(x: unknown): x is number {
  return typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;
}

/** Returns the entry, or a string saying what is wrong with it. */
function parseEntry(raw: unknown): SafetensorsEntry | string {
  if (typeof raw !== 'object' || raw === null) return 'entry is not an object';
  const r = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof r.dtype !== 'string') return 'missing dtype';
  if (!Array.isArray(r.shape) || !r.shape.every(isCount)) return 'shape is not a list of non-negative integers';
  const off = r.data_offsets;
  if (!Array.isArray(off) || off.length !== 2 || !isCount(off[0]) || !isCount(off[1]) || off[0] > off[1]) {
    return 'data_offsets is not [begin, end] with 0 <= begin <= end';
  }
  return { dtype: r.dtype, shape: r.shape as number[], dataOffsets: [off[0], off[1]] };
}

function withFd<T>(path: string, fn: (fd: number) => T): T {
  const { fd } = openRegularFile(path, 'safetensors file');
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Reads and validates only the header: cheap listing of names, dtypes and shapes. */
export function readSafetensorsHeader(path: string): SafetensorsHeader {
  return withFd(path, (fd) => readHeaderFd(fd, path));
}

/**
 * Reads the tensors (all, or those `filter` accepts) as float32. Each tensor is read with its
 * own positioned read, so the whole file is never held in memory twice.
 */
export function readSafetensors(path: string, opts: { filter?: (name: string) => boolean } = {}): Map<string, HostTensor> {
  return withFd(path, (fd) => {
    const header = readHeaderFd(fd, path);
    const out = new Map<string, HostTensor>();
    for (const [name, e] of header.tensors) {
      if (opts.filter && !opts.filter(name)) continue;
      const numel = e.shape.reduce((a, b) => a * b, 1);
      const at = header.dataStart + e.dataOffsets[0];
      let data: Float32Array;
      if (e.dtype === 'F32') {
        data = new Float32Array(numel);
        readExactly(fd, new Uint8Array(data.buffer), at, path);
      } else if (e.dtype === 'F16' || e.dtype === 'BF16') {
        const half = new Uint16Array(numel);
        readExactly(fd, new Uint8Array(half.buffer), at, path);
        data = e.dtype === 'F16' ? f16ToF32(half) : bf16ToF32(half);
      } else {
        throw new InfluenceLensError('UNSUPPORTED', `${path}: tensor "${name}" has dtype ${e.dtype}; only F32, F16 and BF16 are supported`, { file: path });
      }
      out.set(name, { shape: [...e.shape], data });
    }
    return out;
  });
}

/** Writes a safetensors file atomically (temp file in the same folder, fsync, rename). */
export function writeSafetensors(path: string, tensors: Map<string, HostTensor>, opts: WriteSafetensorsOptions = {}): void {
  const dtype = opts.dtype ?? 'F32';
  const size = BYTES[dtype];
  if (size === undefined || !['F32', 'F16', 'BF16'].includes(dtype)) {
    throw new InfluenceLensError('UNSUPPORTED', `${path}: cannot write dtype ${dtype}; use F32, F16 or BF16`, { file: path });
  }
  const header: Record<string, unknown> = {};
  if (opts.metadata && Object.keys(opts.metadata).length > 0) header.__metadata__ = opts.metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const numel = t.shape.reduce((a, b) => a * b, 1);
    if (numel !== t.data.length) {
      throw new InfluenceLensError('MODEL_FORMAT', `${path}: tensor "${name}" has shape ${JSON.stringify(t.shape)} but ${t.data.length} values`, {
        file: path,
      });
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + numel * size] };
    offset += numel * size;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));

  writeFileAtomically(path, (write) => {
    write(len);
    write(json);
    for (const t of tensors.values()) write(encode(t.data, dtype));
  });
}

function encode(data: Float32Array, dtype: FloatDtype): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const half = dtype === 'F16' ? f32ToF16(data) : f32ToBf16(data);
  return new Uint8Array(half.buffer);
}

// ---- half-precision conversions ---------------------------------------------------------

let f16Table: Float32Array | undefined;

/** IEEE binary16 → float32, exact (subnormals, ±inf, NaN included), via a 64K lookup table. */
export function f16ToF32(half: Uint16Array): Float32Array {
  if (!f16Table) {
    f16Table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) {
      const sign = h & 0x8000 ? -1 : 1;
      const exp = (h >> 10) & 0x1f;
      const mant = h & 0x3ff;
      if (exp === 0) f16Table[h] = sign * mant * 2 ** -24;
      else if (exp === 31) f16Table[h] = mant ? NaN : sign * Infinity;
      else f16Table[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
    }
  }
  const out = new Float32Array(half.length);
  for (let i = 0; i < half.length; i++) out[i] = f16Table[half[i]];
  return out;
}

/** bfloat16 is the top half of a float32, so widening is a shift. */
export function bf16ToF32(half: Uint16Array): Float32Array {
  const out = new Float32Array(half.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < half.length; i++) bits[i] = half[i] << 16;
  return out;
}

/** float32 → binary16 with round-to-nearest-even; overflow → ±inf, tiny → subnormal or ±0. */
export function f32ToF16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToF16(bits[i]);
  return out;
}

function f32BitsToF16(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    // Subnormal result: q * 2^-24 with q = (mant | implicit 1) >> (126 - exp), rounded.
    if (e < -10) return sign;
    const full = mant | 0x800000;
    const shift = 14 - e; // 14..24
    let q = full >>> shift;
    const rem = full & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && q & 1)) q++;
    return sign | q; // q may round up to 0x400, the smallest normal, which is the right encoding
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is correct, up to inf
  return sign | h;
}

/** float32 → bfloat16 with round-to-nearest-even; NaN stays a (quiet) NaN. */
export function f32ToBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const x = bits[i];
    if ((x & 0x7f800000) === 0x7f800000 && x & 0x7fffff) out[i] = (x >>> 16) | 0x40;
    else out[i] = (x + 0x7fff + ((x >>> 16) & 1)) >>> 16; // sum < 2^32 for every non-NaN x
  }
  return out;
}
