/**
 * A corpus fingerprint: the cache key of everything computed from a corpus (EK-FAC factors, gradient
 * indexes, scores). It changes when any byte of any input file changes, when a file is added, removed
 * or renamed, and when a reader setting that changes the documents changes.
 */
import { createHash } from 'node:crypto';
import { InfluenceLensError } from '../errors';
import { fileChunks } from './compressed';
import { corpusInput, resolveCorpusOptions } from './corpus';
import { holdsShards } from './folder';
import type { CorpusFile, CorpusHooks, CorpusInput, CorpusOptions } from './types';

/**
 * Bump when the readers change what documents they produce from the same bytes (2: text that is not
 * UTF-8 and binary files are skipped and reported, no longer decoded with U+FFFD).
 */
export const CORPUS_READER_VERSION = 2;

/**
 * Computes the corpus fingerprint from the bytes a pass reads, so that a caller does not read the corpus
 * a second time to fingerprint it: pass `hooks` to readCorpus (or feed `onInput`/`onData` itself), then
 * `digest()` gives exactly what corpusFingerprint() computes, or undefined when the pass did not read
 * every byte of every file (it stopped early: maxDocs, a break, an abort; or the reader skipped a file
 * unread, such as an oversized one in a folder).
 */
export class CorpusFingerprinter {
  private readonly hash = createHash('sha256');
  /** The reader settings hashed for each format: field names matter only to records (JSONL, Parquet, a folder of shards). */
  private readonly jsonlSettings: Record<string, unknown>;
  private readonly settings: Record<string, unknown>;
  private files: CorpusFile[] | undefined;
  /** The file being fed, and its bytes so far. */
  private at = -1;
  private bytes = 0;
  private broken = false;

  constructor(options: CorpusOptions) {
    const o = resolveCorpusOptions(options);
    this.jsonlSettings = { textField: o.textField, idField: o.idField, sourceField: o.sourceField, maxDocs: o.maxDocs ?? null };
    this.settings = { maxDocs: o.maxDocs ?? null };
  }

  /** For readCorpus(options, report, signal, fingerprinter.hooks). */
  readonly hooks: CorpusHooks = {
    onInput: (input) => this.onInput(input),
    onData: (file, chunk) => this.onData(file, chunk),
  };

  onInput(input: CorpusInput): void {
    const records = input.format === 'folder' ? holdsShards(input.files) : input.format !== 'endoftext';
    const settings = records ? this.jsonlSettings : this.settings;
    this.hash.update(JSON.stringify({ reader: CORPUS_READER_VERSION, format: input.format, settings, files: input.files.length }) + '\n');
    this.files = input.files;
  }

  onData(file: CorpusFile, chunk: Uint8Array): void {
    if (!this.files || this.broken) return;
    if (this.at < 0 || this.files[this.at].file !== file.file) {
      // The next file: every file in between must have been empty (else the pass skipped its bytes).
      if (this.at >= 0 && !this.finishFile()) return;
      let next = this.at + 1;
      while (next < this.files.length && this.files[next].file !== file.file) {
        if (this.files[next].size !== 0) return void (this.broken = true);
        this.startFile(next++);
      }
      if (next === this.files.length) return void (this.broken = true);
      this.startFile(next);
    }
    this.bytes += chunk.length;
    this.hash.update(chunk);
  }

  /** The fingerprint, when the pass read every byte of every file; undefined otherwise. Call once. */
  digest(): string | undefined {
    if (!this.files || this.broken) return undefined;
    if (this.at >= 0 && !this.finishFile()) return undefined;
    for (let i = this.at + 1; i < this.files.length; i++) {
      if (this.files[i].size !== 0) return undefined;
      this.startFile(i);
    }
    return this.hash.digest('hex');
  }

  private startFile(i: number): void {
    const f = this.files![i];
    this.hash.update(`${JSON.stringify(f.rel)} ${f.size}\n`);
    this.at = i;
    this.bytes = 0;
  }

  /** Whether the current file was read whole; a file that changed size during the pass is an error. */
  private finishFile(): boolean {
    const f = this.files![this.at];
    if (this.bytes > f.size) throw changedError(f, this.bytes);
    if (this.bytes < f.size) this.broken = true;
    return !this.broken;
  }
}

function changedError(f: CorpusFile, bytes: number): InfluenceLensError {
  return new InfluenceLensError('IO', `${f.file} changed while it was being fingerprinted (${f.size} bytes, then ${bytes})`, { file: f.file });
}

/**
 * sha256 (hex) over: the reader version, the format, the settings that matter for that format (field
 * names for records: JSONL, compressed or not, Parquet, a folder of shards; maxDocs for all), then for each input file in reading order its relative path, its
 * size and its bytes as stored (streamed; compressed files are not decompressed). The corpus location itself is not hashed: a moved or copied corpus keeps
 * its fingerprint (for a one-file corpus the file name is hashed, since a .txt corpus uses it as source).
 */
export async function corpusFingerprint(options: CorpusOptions, signal?: AbortSignal): Promise<string> {
  const fingerprinter = new CorpusFingerprinter(options);
  const input = await corpusInput(resolveCorpusOptions(options).path, signal);
  fingerprinter.onInput(input);
  for (const f of input.files) {
    signal?.throwIfAborted();
    let bytes = 0;
    // The readers' own file reads: opened non-blocking and checked on the handle (a FIFO is refused).
    for await (const chunk of fileChunks(f.file, { signal })) {
      bytes += chunk.length;
      fingerprinter.onData(f, chunk);
    }
    if (bytes !== f.size) throw changedError(f, bytes);
  }
  return fingerprinter.digest()!;
}
