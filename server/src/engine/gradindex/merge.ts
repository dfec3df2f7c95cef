/**
 * Joins indexes built over corpus shards (index --shard i/n) into one, documents back in corpus order.
 * Streams: one decoded chunk per shard is held at a time.
 */
import { mkdirSync } from 'node:fs';
import { InfluenceLensError } from '../errors';
import type { ResultsDocument } from '../results/types';
import { assertNotInput, assertOutputKind } from '../util/output';
import { completeShardCount } from '../util/shardSet';
import { ChunkWriter, readChunk, readDocuments, readManifest, rowOf, writeDocuments, writeManifest, type IndexRows, type PackedRow } from './store';
import { RescoreReader, RescoreWriter } from './rescore/store';
import { writeLexicalIndex } from './lexicalBuild';
import type { IndexManifest } from './types';

/** The rescoring tier's settings without its chunks: what the parts must share. */
const rescoreLayout = (m: IndexManifest) => (m.rescore ? { ...m.rescore, chunks: undefined } : null);

class ShardCursor {
  private chunk = -1;
  private rows: IndexRows | undefined;
  private row = 0;
  pos = 0;
  readonly rescore: RescoreReader | undefined;

  constructor(
    readonly dir: string,
    readonly manifest: IndexManifest,
    readonly documents: ResultsDocument[],
  ) {
    const t = manifest.rescore;
    this.rescore = t ? new RescoreReader(dir, t, t.chunks) : undefined;
  }

  get done(): boolean {
    return this.pos >= this.documents.length;
  }

  get current(): ResultsDocument {
    return this.documents[this.pos];
  }

  /** The current document's rescoring row (checked), before take(). */
  rescoreRow(): Uint8Array {
    return this.rescore!.read([this.pos])[0];
  }

  /** The current document's row, then advance. */
  take(): PackedRow {
    if (!this.rows || this.row >= this.rows.count) {
      this.chunk++;
      this.rows = readChunk(this.dir, this.manifest, this.manifest.chunks[this.chunk]);
      this.row = 0;
    }
    const out = rowOf(this.rows, this.row, this.manifest.rows);
    this.row++;
    this.pos++;
    return out;
  }
}

export async function mergeIndexes(dirs: string[], out: string, signal?: AbortSignal): Promise<IndexManifest> {
  if (dirs.length === 0) throw new Error('no indexes to merge');
  const cursors = dirs.map((d) => {
    const m = readManifest(d);
    return new ShardCursor(d, m, readDocuments(d, m));
  });
  const first = cursors[0].manifest;
  const same = (m: IndexManifest) =>
    m.model.fingerprint === first.model.fingerprint &&
    m.corpus.fingerprint === first.corpus.fingerprint &&
    m.factors.eigenSha256 === first.factors.eigenSha256 &&
    m.factors.lambdaSha256 === first.factors.lambdaSha256 &&
    JSON.stringify(m.modules) === JSON.stringify(first.modules) &&
    JSON.stringify(m.sketch) === JSON.stringify(first.sketch) &&
    JSON.stringify(m.rows) === JSON.stringify(first.rows) &&
    JSON.stringify(rescoreLayout(m)) === JSON.stringify(rescoreLayout(first));
  const odd = cursors.find((c) => !same(c.manifest));
  if (odd)
    throw new InfluenceLensError('INDEX_MISMATCH', `${odd.dir} was built with another model, corpus, factors or sketch than ${dirs[0]}`, { file: odd.dir });
  // Only every shard of one build is merged: a merged index covers the whole corpus.
  completeShardCount(
    cursors.map((c) => ({ dir: c.dir, shard: c.manifest.shard })),
    { command: 'index', code: 'INDEX_INCOMPLETE' },
  );
  assertOutputKind(out, 'index');
  assertNotInput(out, dirs); // the merge reads its parts while it writes
  mkdirSync(out, { recursive: true });
  const documents: ResultsDocument[] = [];
  const writer = new ChunkWriter(out, first.rows);
  const rescoreWriter = first.rescore ? new RescoreWriter(out, first.rescore) : undefined;
  let last = -1;
  for (;;) {
    const live = cursors.filter((c) => !c.done);
    if (live.length === 0) break;
    const next = live.reduce((a, b) => (b.current.index < a.current.index ? b : a));
    const doc = next.current;
    if (doc.index === last)
      throw new InfluenceLensError('INDEX_MISMATCH', `document ${doc.index} is in more than one part (overlapping shards?)`, { file: next.dir });
    last = doc.index;
    rescoreWriter?.push(next.rescoreRow());
    writer.push(next.take());
    documents.push(doc);
  }
  cursors.forEach((c) => c.rescore?.close());
  writer.flush();
  rescoreWriter?.flush();
  const docs = writeDocuments(out, documents);
  // The parts' BM25 indexes cannot be joined: the merged one is built from the corpus they were built on.
  const lexical = first.lexical && (await writeLexicalIndex(out, { path: first.corpus.path }, documents, signal));
  const { metadataSha256: _, ...layout } = first;
  return writeManifest(out, {
    ...layout,
    documents: documents.length,
    chunks: writer.chunks,
    documentsFile: docs.file,
    documentsSha256: docs.sha256,
    shard: null,
    lexical,
    rescore: first.rescore && rescoreWriter ? { ...first.rescore, chunks: rescoreWriter.chunks } : null,
  });
}
