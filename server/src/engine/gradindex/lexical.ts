/**
 * Lexical candidates: Okapi BM25 over the indexed documents' text (MiniSearch), built once with the index
 * and persisted beside it (lexical.json, its sha256 in the manifest). Grosse et al. (2023) chose candidate
 * documents by TF-IDF before computing influence; here BM25 over prompt + completion finds the documents
 * that state a fact, which the gradient sketch ranks poorly on flat spectra (docs/INDEX.md, "Two tiers").
 * Ids are row positions in the index, so a hit is a row to rescore.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { readCorpus } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { ResultsDocument } from '../results/types';
import { writeFileAtomically } from '../util/atomic';
import { FILE_LIMITS, readFileBounded } from '../util/files';

export const LEXICAL_FILE = 'lexical.json';

export interface LexicalFile {
  file: string;
  sha256: string;
}

interface Entry {
  id: number;
  text: string;
}

const OPTIONS = { fields: ['text'], storeFields: [] as string[] };
/** Okapi BM25's usual constants; MiniSearch's BM25+ term d = 0 makes it plain BM25. */
const BM25 = { k: 1.2, b: 0.75, d: 0 };

/** Reads the corpus once and writes the BM25 index of `documents` (their positions are the ids). */
export async function writeLexicalIndex(dir: string, corpus: CorpusOptions, documents: ResultsDocument[], signal?: AbortSignal): Promise<LexicalFile> {
  const position = new Map(documents.map((d, p) => [d.index, p]));
  const index = new MiniSearch<Entry>(OPTIONS);
  const batch: Entry[] = [];
  for await (const doc of readCorpus({ ...corpus, maxDocs: undefined }, undefined, signal)) {
    const p = position.get(doc.index);
    if (p === undefined) continue;
    batch.push({ id: p, text: doc.text });
    if (batch.length === 1024) index.addAll(batch.splice(0));
  }
  index.addAll(batch);
  if (index.documentCount !== documents.length) {
    throw new InfluenceLensError(
      'CORPUS_CHANGED',
      `${corpus.path} no longer holds every indexed document (${index.documentCount} of ${documents.length} found): rebuild the index`,
      { file: corpus.path },
    );
  }
  const bytes = Buffer.from(JSON.stringify(index));
  writeFileAtomically(join(dir, LEXICAL_FILE), (write) => write(bytes));
  return { file: LEXICAL_FILE, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export class LexicalIndex {
  private constructor(private readonly index: MiniSearch<Entry>) {}

  /** Loads and checks lexical.json against the manifest's sha256. */
  static load(dir: string, file: LexicalFile): LexicalIndex {
    const path = join(dir, file.file);
    const bytes = readFileBounded(path, { what: 'lexical index', maxBytes: FILE_LIMITS.largeJson });
    if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new InfluenceLensError('INDEX_CORRUPT', `${path} does not match the index manifest (changed or damaged): rebuild the index`, { file: path });
    }
    return new LexicalIndex(MiniSearch.loadJSON<Entry>(bytes.toString('utf8'), OPTIONS));
  }

  /**
   * Row positions of the n documents with the highest Okapi BM25 score for `text` (those sharing no term
   * are never returned). MiniSearch multiplies a document's score by the number of query terms it matched;
   * that factor is divided out, as in eval's BM25 baseline.
   */
  search(text: string, n: number): number[] {
    return this.index
      .search(text, { bm25: BM25 })
      .map((hit) => ({ id: hit.id as number, score: hit.score / Math.max(1, hit.queryTerms.length) }))
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, n)
      .map((hit) => hit.id);
  }
}
