/**
 * Writes the BM25 index of an index's documents (lexical.bin, format in lexical.ts) from the corpus, in two
 * reads of it: the first counts each term's documents and each document's length, the second fills every
 * term's postings in place. Memory is the term dictionary plus 6 bytes per (term, document) pair, whatever
 * the corpus's size in bytes.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { readCorpus } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { ResultsDocument } from '../results/types';
import { writeFileAtomically } from '../util/atomic';
import { LEXICAL_FILE, LEXICAL_MAGIC, LEXICAL_VERSION, type LexicalFile } from './lexical';
import { documentTerms } from './lexicalTerms';

/** A term's count in one document is kept up to this (BM25's weight has long saturated). */
const MAX_TF = 0xffff;

/** Reads the corpus and writes the BM25 index of `documents` (their positions are the ids). */
export async function writeLexicalIndex(dir: string, corpus: CorpusOptions, documents: ResultsDocument[], signal?: AbortSignal): Promise<LexicalFile> {
  const position = new Map(documents.map((d, p) => [d.index, p]));
  const N = documents.length;
  const each = async (fn: (p: number, text: string) => void): Promise<number> => {
    let found = 0;
    for await (const doc of readCorpus({ ...corpus, maxDocs: undefined }, undefined, signal)) {
      const p = position.get(doc.index);
      if (p === undefined) continue;
      fn(p, doc.text);
      found++;
    }
    if (found !== N) {
      throw new InfluenceLensError('CORPUS_CHANGED', `${corpus.path} no longer holds every indexed document (${found} of ${N} found): rebuild the index`, {
        file: corpus.path,
      });
    }
    return found;
  };

  // First read: documents per term, each document's length, the average as MiniSearch kept it (a running
  // mean in corpus order, so that scores agree with the first format's to the last bit).
  const containing = new Map<string, number>();
  const lengths = new Uint32Array(N);
  let average = 0;
  let seen = 0;
  await each((p, text) => {
    const { terms, length } = documentTerms(text);
    lengths[p] = length;
    average = (average * seen + length) / (seen + 1);
    seen++;
    for (const t of new Set(terms)) containing.set(t, (containing.get(t) ?? 0) + 1);
  });
  const terms = [...containing.keys()].sort(); // UTF-16 order, as the reader's binary search compares
  const id = new Map(terms.map((t, i) => [t, i]));
  const starts = new Float64Array(terms.length + 1);
  terms.forEach((t, i) => (starts[i + 1] = starts[i] + containing.get(t)!));
  const P = starts[terms.length];
  if (P > 2 ** 32)
    throw new InfluenceLensError('INDEX_TOO_LARGE', `the BM25 index of ${corpus.path} would hold ${P} postings; at most 2^32`, { file: corpus.path });

  // Second read: each term's postings, in the order documents are read.
  const docs = new Uint32Array(P);
  const tfs = new Uint16Array(P);
  const cursor = starts.slice(0, terms.length);
  await each((p, text) => {
    const counts = new Map<string, number>();
    for (const t of documentTerms(text).terms) counts.set(t, (counts.get(t) ?? 0) + 1);
    for (const [t, tf] of counts) {
      const i = id.get(t);
      // A term the first read did not see: the corpus changed between the two reads.
      if (i === undefined || cursor[i] >= starts[i + 1])
        throw new InfluenceLensError('CORPUS_CHANGED', `${corpus.path} changed while the BM25 index was written: build it again`, { file: corpus.path });
      docs[cursor[i]] = p;
      tfs[cursor[i]] = Math.min(tf, MAX_TF);
      cursor[i]++;
    }
  });

  const encoder = new TextEncoder();
  const encoded = terms.map((t) => encoder.encode(t));
  const ends = new Uint32Array(terms.length);
  let end = 0;
  encoded.forEach((b, i) => (ends[i] = end += b.length));
  const header = new DataView(new ArrayBuffer(48));
  LEXICAL_MAGIC.forEach((c, i) => header.setUint8(i, c));
  header.setUint32(8, LEXICAL_VERSION, true);
  header.setUint32(12, N, true);
  header.setUint32(16, terms.length, true);
  header.setFloat64(24, average, true);
  header.setFloat64(32, P, true);
  header.setFloat64(40, end, true);
  const hash = createHash('sha256');
  writeFileAtomically(join(dir, LEXICAL_FILE), (write) => {
    const put = (bytes: Uint8Array) => {
      hash.update(bytes);
      write(bytes);
    };
    const bytesOf = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    put(bytesOf(header));
    put(bytesOf(lengths));
    put(bytesOf(ends));
    put(bytesOf(starts));
    for (const b of encoded) put(b);
    put(new Uint8Array((4 - (end % 4)) % 4)); // postings start on a 4-byte boundary
    put(bytesOf(docs));
    put(bytesOf(tfs));
  });
  return { file: LEXICAL_FILE, sha256: hash.digest('hex') };
}
