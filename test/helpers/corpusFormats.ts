/**
 * The same documents written in each corpus format a user brings: JSONL, .jsonl.gz, .jsonl.zst and
 * Parquet (hyparquet-writer, row groups of `rowGroupSize`, snappy or zstd). Everything is written by the
 * test: no binary is checked in.
 */
import { gzipSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';
import { parquetWriteBuffer } from 'hyparquet-writer';

export interface Doc {
  id: string;
  source: string;
  text: string;
}

const SOURCES = ['wiki', 'code', 'math', 'web'];

/** `n` stories with ids, sources, multi-line and non-ASCII text (the same words the tiny model knows). */
export function sampleDocs(n = 200): Doc[] {
  const names = ['Lily', 'Tom', 'Mia', 'Ben', 'Sue'];
  return Array.from({ length: n }, (_, i) => ({
    id: `doc-${i}`,
    source: SOURCES[i % SOURCES.length],
    text:
      `Once upon a time, there was a little girl named ${names[i % names.length]}. She liked to play ${i} times a day.` +
      (i % 7 === 0 ? '\nShe said, "Café!" and smiled. ✓' : '') +
      (i % 11 === 0 ? '\r\nThe end.' : ''),
  }));
}

export const jsonlOf = (records: unknown[]): Buffer => Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''));

/**
 * A zstd frame of raw (stored) blocks: valid zstd that any decoder must read (RFC 8878 §3.1.1), made
 * without a compressor (Node 20's zlib has none). Window 128 KiB, blocks of `blockBytes` (at most 128 KiB).
 */
export function zstdStored(data: Uint8Array, blockBytes = 128 * 1024): Buffer {
  const parts: Buffer[] = [Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x38])]; // magic; descriptor: no FCS, not single-segment; window 2^17
  const max = Math.min(blockBytes, 128 * 1024);
  for (let at = 0; at === 0 || at < data.length; at += max) {
    const size = Math.min(max, data.length - at);
    const last = at + max >= data.length ? 1 : 0;
    const header = (size << 3) | last; // block type 0: raw
    parts.push(Buffer.from([header & 0xff, (header >> 8) & 0xff, (header >> 16) & 0xff]), Buffer.from(data.subarray(at, at + size)));
  }
  return Buffer.concat(parts);
}

export function parquetOf(docs: Doc[], o: { rowGroupSize?: number; codec?: 'SNAPPY' | 'ZSTD' | 'UNCOMPRESSED' } = {}): Buffer {
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: docs.map((d) => d.id), type: 'STRING' },
      { name: 'text', data: docs.map((d) => d.text), type: 'STRING' },
      { name: 'source', data: docs.map((d) => d.source), type: 'STRING' },
    ],
    rowGroupSize: o.rowGroupSize ?? 64,
    codec: o.codec ?? 'SNAPPY',
    compressors: { ZSTD: (input) => zstdStored(input) },
  });
  return Buffer.from(buf);
}

/** Writes `docs` as `<base>.jsonl`, `.jsonl.gz`, `.jsonl.zst` and `.parquet`; returns the four paths. */
export function writeAllFormats(base: string, docs: Doc[]): { jsonl: string; gz: string; zst: string; parquet: string } {
  const jsonl = jsonlOf(docs);
  const paths = { jsonl: `${base}.jsonl`, gz: `${base}.jsonl.gz`, zst: `${base}.jsonl.zst`, parquet: `${base}.parquet` };
  writeFileSync(paths.jsonl, jsonl);
  writeFileSync(paths.gz, gzipSync(jsonl));
  writeFileSync(paths.zst, zstdStored(jsonl));
  writeFileSync(paths.parquet, parquetOf(docs));
  return paths;
}
