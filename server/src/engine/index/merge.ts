/**
 * Joins indexes built over corpus shards (index --shard i/n) into one, documents back in corpus order.
 * Streams: one decoded chunk per shard is held at a time.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import type { ResultsDocument } from '../results/types';
import { writeTextAtomically } from '../util/atomic';
import { MANIFEST, readChunk, readDocuments, readManifest, writeChunk, writeDocuments } from './store';
import type { IndexChunk, IndexManifest } from './types';

const CHUNK_ROWS = 4096;

class ShardCursor {
  private chunk = -1;
  private rows: Float32Array | undefined;
  private row = 0;
  pos = 0;

  constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    readonly documents: ResultsDocument[],
  ) {}

  get done(): boolean {
    return this.pos >= this.documents.length;
  }

  get current(): ResultsDocument {
    return this.documents[this.pos];
  }

  /** The current document's row, then advance. */
  take(): Float32Array {
    if (!this.rows || this.row >= this.manifest.chunks[this.chunk].count) {
      this.chunk++;
      this.rows = readChunk(this.dir, this.manifest, this.manifest.chunks[this.chunk]);
      this.row = 0;
    }
    const dim = this.manifest.rowDim;
    const out = this.rows.subarray(this.row * dim, (this.row + 1) * dim);
    this.row++;
    this.pos++;
    return out;
  }
}

export function mergeIndexes(dirs: string[], out: string): IndexManifest {
  if (dirs.length === 0) throw new Error('no indexes to merge');
  const cursors = dirs.map((d) => {
    const m = readManifest(d);
    return new ShardCursor(d, m, readDocuments(d, m));
  });
  const first = cursors[0].manifest;
  const same = (m: IndexManifest) =>
    m.model.fingerprint === first.model.fingerprint &&
    m.corpus.fingerprint === first.corpus.fingerprint &&
    m.factors.fingerprint === first.factors.fingerprint &&
    JSON.stringify(m.modules) === JSON.stringify(first.modules) &&
    m.settings.maxLen === first.settings.maxLen;
  const odd = cursors.find((c) => !same(c.manifest));
  if (odd) throw new InfluenceLensError('INDEX_MISMATCH', `${odd.dir} was built with another model, corpus, factors or settings than ${dirs[0]}`, { file: odd.dir });
  mkdirSync(out, { recursive: true });
  const widths = first.modules.map((m) => m.positions.length);
  const dim = first.rowDim;
  const documents: ResultsDocument[] = [];
  const chunks: IndexChunk[] = [];
  let buffer = new Float32Array(CHUNK_ROWS * dim);
  let filled = 0;
  const flush = () => {
    if (filled === 0) return;
    chunks.push(writeChunk(out, documents.length - filled, buffer, filled, widths));
    buffer = new Float32Array(CHUNK_ROWS * dim);
    filled = 0;
  };
  let last = -1;
  for (;;) {
    const live = cursors.filter((c) => !c.done);
    if (live.length === 0) break;
    const next = live.reduce((a, b) => (b.current.index < a.current.index ? b : a));
    const doc = next.current;
    if (doc.index === last) throw new InfluenceLensError('INDEX_MISMATCH', `document ${doc.index} is in more than one part (overlapping shards?)`, { file: next.dir });
    last = doc.index;
    buffer.set(next.take(), filled * dim);
    filled++;
    documents.push(doc);
    if (filled === CHUNK_ROWS) flush();
  }
  flush();
  const docs = writeDocuments(out, documents);
  const manifest: IndexManifest = { ...first, documents: documents.length, chunks, documentsFile: docs.file, documentsSha256: docs.sha256, shard: null };
  writeTextAtomically(join(out, MANIFEST), JSON.stringify(manifest) + '\n');
  return manifest;
}
