/**
 * The first lexical format (index layout 8): MiniSearch's own JSON (lexical.json), loaded whole. It still
 * opens, so that an index built then keeps its BM25 candidates; new indexes write lexical.bin (lexical.ts),
 * which ranks the same and reads only what a query names. Also the reference a test checks lexical.bin
 * against.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, readFileBounded } from '../util/files';
import type { LexicalFile, LexicalSearch } from './lexical';
import { BM25 } from './lexicalTerms';

export const LEGACY_LEXICAL_FILE = 'lexical.json';

interface Entry {
  id: number;
  text: string;
}

const OPTIONS = { fields: ['text'], storeFields: [] as string[] };
/** lexical.bin's constants; MiniSearch's BM25+ term d = 0 makes it plain BM25. */
const PARAMS = { ...BM25, d: 0 };

export class MiniSearchLexicalIndex implements LexicalSearch {
  private constructor(private readonly index: MiniSearch<Entry>) {}

  /** Loads and checks lexical.json against the manifest's sha256. */
  static load(dir: string, file: LexicalFile): MiniSearchLexicalIndex {
    const path = join(dir, file.file);
    const bytes = readFileBounded(path, { what: 'lexical index', maxBytes: FILE_LIMITS.largeJson });
    if (createHash('sha256').update(bytes).digest('hex') !== file.sha256) {
      throw new InfluenceLensError('INDEX_CORRUPT', `${path} does not match the index manifest (changed or damaged): rebuild the index`, { file: path });
    }
    return new MiniSearchLexicalIndex(MiniSearch.loadJSON<Entry>(bytes.toString('utf8'), OPTIONS));
  }

  /**
   * Row positions of the n documents with the highest Okapi BM25 score for `text` (those sharing no term
   * are never returned). MiniSearch multiplies a document's score by the number of query terms it matched;
   * that factor is divided out, as in eval's BM25 baseline.
   */
  search(text: string, n: number): number[] {
    return this.index
      .search(text, { bm25: PARAMS })
      .map((hit) => ({ id: hit.id as number, score: hit.score / Math.max(1, hit.queryTerms.length) }))
      .sort((a, b) => b.score - a.score || a.id - b.id)
      .slice(0, n)
      .map((hit) => hit.id);
  }

  close(): void {}
}
