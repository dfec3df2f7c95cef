/**
 * Joins indexes built over corpus shards (index --shard i/n) into one, documents back in corpus order.
 * Streams: one decoded chunk per shard is held at a time.
 */
import { mkdirSync } from 'node:fs';
import { InfluenceLensError } from '../errors';
import type { ResultsDocument } from '../results/types';
import { assertNotInput, assertOutputKind } from '../util/output';
import { ChunkWriter, readChunk, readDocuments, readManifest, rowOf, writeDocuments, writeManifest, type IndexRows, type PackedRow } from './store';
import type { IndexManifest } from './types';

class ShardCursor {
  private chunk = -1;
  private rows: IndexRows | undefined;
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
  take(): PackedRow {
    if (!this.rows || this.row >= this.rows.count) {
      this.chunk++;
      this.rows = readChunk(this.dir, this.manifest, this.manifest.chunks[this.chunk]);
      this.row = 0;
    }
    const out = rowOf(this.rows, this.row, this.manifest);
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
    JSON.stringify(m.settings) === JSON.stringify(first.settings);
  const odd = cursors.find((c) => !same(c.manifest));
  if (odd) throw new InfluenceLensError('INDEX_MISMATCH', `${odd.dir} was built with another model, corpus, factors or settings than ${dirs[0]}`, { file: odd.dir });
  assertOutputKind(out, 'index');
  assertNotInput(out, dirs); // the merge reads its parts while it writes
  mkdirSync(out, { recursive: true });
  const documents: ResultsDocument[] = [];
  const writer = new ChunkWriter(out, first);
  let last = -1;
  for (;;) {
    const live = cursors.filter((c) => !c.done);
    if (live.length === 0) break;
    const next = live.reduce((a, b) => (b.current.index < a.current.index ? b : a));
    const doc = next.current;
    if (doc.index === last) throw new InfluenceLensError('INDEX_MISMATCH', `document ${doc.index} is in more than one part (overlapping shards?)`, { file: next.dir });
    last = doc.index;
    writer.push(next.take());
    documents.push(doc);
  }
  writer.flush();
  const docs = writeDocuments(out, documents);
  const { metadataSha256: _, ...layout } = first;
  return writeManifest(out, { ...layout, documents: documents.length, chunks: writer.chunks, documentsFile: docs.file, documentsSha256: docs.sha256, shard: null });
}
