/**
 * A corpus fingerprint: the cache key of everything computed from a corpus (EK-FAC factors, gradient
 * indexes, scores). It changes when any byte of any input file changes, when a file is added, removed
 * or renamed, and when a reader setting that changes the documents changes.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { InfluenceLensError } from '../errors';
import { corpusInput, resolveCorpusOptions } from './corpus';
import type { CorpusOptions } from './types';

/** Bump when the readers change what documents they produce from the same bytes. */
export const CORPUS_READER_VERSION = 1;

/**
 * sha256 (hex) over: the reader version, the format, the settings that matter for that format (field
 * names for JSONL; maxDocs for all), then for each input file in reading order its relative path, its
 * size and its bytes (streamed). The corpus location itself is not hashed: a moved or copied corpus keeps
 * its fingerprint (for a one-file corpus the file name is hashed, since a .txt corpus uses it as source).
 */
export async function corpusFingerprint(options: CorpusOptions, signal?: AbortSignal): Promise<string> {
  const o = resolveCorpusOptions(options);
  const input = await corpusInput(o.path, signal);
  const hash = createHash('sha256');
  const settings =
    input.format === 'jsonl'
      ? { textField: o.textField, idField: o.idField, sourceField: o.sourceField, maxDocs: o.maxDocs ?? null }
      : { maxDocs: o.maxDocs ?? null };
  hash.update(JSON.stringify({ reader: CORPUS_READER_VERSION, format: input.format, settings, files: input.files.length }) + '\n');
  for (const f of input.files) {
    signal?.throwIfAborted();
    hash.update(`${JSON.stringify(f.rel)} ${f.size}\n`);
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(f.file) as AsyncIterable<Buffer>) {
        signal?.throwIfAborted();
        bytes += chunk.length;
        hash.update(chunk);
      }
    } catch (e) {
      if (typeof (e as NodeJS.ErrnoException).syscall !== 'string') throw e;
      throw new InfluenceLensError('IO', `cannot read ${f.file}: ${(e as Error).message}`, { file: f.file, cause: e });
    }
    if (bytes !== f.size) {
      throw new InfluenceLensError('IO', `${f.file} changed while it was being fingerprinted (${f.size} bytes, then ${bytes})`, { file: f.file });
    }
  }
  return hash.digest('hex');
}
