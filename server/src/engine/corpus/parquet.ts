/**
 * Parquet corpora (Hugging Face `datasets` shards): read one row group at a time with hyparquet, only the
 * columns that the text, id and source fields name, decompressed by hyparquet-compressors (snappy, zstd,
 * gzip, brotli, lz4). Each row is a record as a JSONL line is (fields.ts). A row group that cannot be read
 * is one issue at its first row, and the rows after it are still read; a file whose footer cannot be
 * read is one issue for the file.
 */
import type { FileHandle } from 'node:fs/promises';
import { parquetMetadataAsync, parquetReadObjects, parquetSchema, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { compressors } from 'hyparquet-compressors';
import { InfluenceLensError } from '../errors';
import { fsErrorSentence, openRegularFileAsync } from '../util/files';
import { fileChunks } from './compressed';
import { NotUtf8, recordToItem } from './fields';
import type { CorpusFile, RawItem, ReaderContext } from './types';

/** Random access to a file through one handle (hyparquet reads the footer, then each column chunk it needs). */
function fileBuffer(handle: FileHandle, file: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = new Uint8Array(Math.max(0, end - start));
      let done = 0;
      try {
        while (done < bytes.length) {
          const { bytesRead } = await handle.read(bytes, done, bytes.length - done, start + done);
          if (bytesRead === 0)
            throw new InfluenceLensError('IO', `${file} ended at byte ${start + done}, before byte ${end}: it changed while it was read`, { file });
          done += bytesRead;
        }
      } catch (e) {
        if (typeof (e as NodeJS.ErrnoException).syscall === 'string') throw new InfluenceLensError('IO', fsErrorSentence(e, file), { file, cause: e });
        throw e;
      }
      return bytes.buffer;
    },
  };
}

/** The top-level column a field path reads: the column of that exact name, else its first dotted step. */
function columnFor(columns: string[], path: string): string | undefined {
  if (columns.includes(path)) return path;
  const head = path.split('.')[0];
  return columns.includes(head) ? head : undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Strings as the JSONL reader decodes them: strictly, so bytes that are not UTF-8 skip their row instead of becoming U+FFFD. */
const parsers = {
  stringFromBytes(bytes: Uint8Array | undefined): string | NotUtf8 | undefined {
    if (!bytes) return bytes;
    try {
      return strictUtf8.decode(bytes);
    } catch {
      return new NotUtf8();
    }
  },
};

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * The documents of a Parquet file, in row order; default id: the 0-based row (`idPrefix` + row in a
 * folder). The raw bytes go to `ctx.onData` once the file has been read (the fingerprint hashes the file as stored).
 */
export async function* readParquet(input: CorpusFile, ctx: ReaderContext, idPrefix = ''): AsyncGenerator<RawItem> {
  const { file, size } = input;
  // Opened non-blocking and checked on the handle: a FIFO swapped in since the listing is refused.
  const { handle } = await openRegularFileAsync(file, 'corpus file');
  let reported = 0;
  const progress = (bytes: number) => {
    if (bytes > reported) ctx.onBytes(bytes - reported);
    reported = Math.max(reported, bytes);
  };
  try {
    const buffer = fileBuffer(handle, file, size);
    let metadata: FileMetaData | undefined;
    try {
      metadata = await parquetMetadataAsync(buffer);
    } catch (e) {
      if (e instanceof InfluenceLensError) throw e;
      yield { kind: 'issue', issue: { file, reason: `not a readable Parquet file (${message(e)}); skipped` } };
    }
    if (metadata) yield* rowGroups(buffer, metadata, input, ctx, idPrefix, progress);
  } finally {
    await handle.close();
  }
  progress(size);
  if (ctx.onData) for await (const chunk of fileChunks(file, { signal: ctx.signal })) ctx.onData(input, chunk);
}

/** The rows of each row group in turn: one group decoded at a time, only the columns the fields name. */
async function* rowGroups(
  buffer: AsyncBuffer,
  metadata: FileMetaData,
  { file, size }: CorpusFile,
  ctx: ReaderContext,
  idPrefix: string,
  progress: (bytes: number) => void,
): AsyncGenerator<RawItem> {
  const fields = ctx.options;
  const totalRows = Number(metadata.num_rows);
  const columns = parquetSchema(metadata).children.map((c) => c.element.name);
  const textColumn = columnFor(columns, fields.textField);
  if (textColumn === undefined) {
    yield { kind: 'issue', issue: { file, reason: `no column "${fields.textField}" (columns: ${columns.join(', ')}); its ${totalRows} rows are skipped` } };
    return;
  }
  const wanted = [...new Set([textColumn, columnFor(columns, fields.idField), columnFor(columns, fields.sourceField)])].filter(
    (c): c is string => c !== undefined,
  );
  let rowStart = 0;
  for (const [group, rowGroup] of metadata.row_groups.entries()) {
    ctx.signal?.throwIfAborted();
    const rowEnd = rowStart + Number(rowGroup.num_rows);
    let rows: Record<string, unknown>[] = [];
    try {
      rows = await parquetReadObjects({ file: buffer, metadata, columns: wanted, rowStart, rowEnd, compressors, parsers });
    } catch (e) {
      if (e instanceof InfluenceLensError) throw e;
      yield {
        kind: 'issue',
        issue: { file, row: rowStart, reason: `row group ${group} (rows ${rowStart}–${rowEnd - 1}) cannot be read (${message(e)}); its rows are skipped` },
      };
    }
    for (const [k, record] of rows.entries()) yield recordToItem(record, { file, row: rowStart + k }, fields, `${idPrefix}${rowStart + k}`);
    rowStart = rowEnd;
    progress(totalRows === 0 ? size : Math.floor((size * rowStart) / totalRows));
  }
}
