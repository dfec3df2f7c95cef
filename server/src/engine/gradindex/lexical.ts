/**
 * Lexical candidates: Okapi BM25 over the indexed documents' text, built once with the index and persisted
 * beside it (its sha256 in the manifest). Grosse et al. (2023) chose candidate documents by TF-IDF before
 * computing influence; here BM25 over prompt + completion finds the documents that state a fact, which the
 * gradient sketch ranks poorly on flat spectra (docs/INDEX.md, "Two tiers"). Ids are row positions in the
 * index, so a hit is a row to rescore.
 *
 * lexical.bin is an inverted index: the documents' lengths and the sorted term dictionary are read at
 * open; each query term's postings are read from disk when a query names it, and scores accumulate in one
 * array over the documents, so a search costs its terms' postings rather than the corpus. Little-endian:
 *   header (48 bytes): magic, u32 version, u32 documents N, u32 terms T, u32 0, f64 average length,
 *                      f64 postings P, f64 term bytes B
 *   u32[N] document lengths · u32[T] end of each term in the term bytes · f64[T+1] first posting of each
 *   term · B bytes of UTF-8 terms (sorted, padded to 4) · u32[P] posting documents · u16[P] term counts
 * Indexes of layout 8 carry MiniSearch's lexical.json instead (lexicalJson.ts), which still opens.
 */
import { closeSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { openRegularFile } from '../util/files';
import { sha256OfOpen } from '../util/hash';
import { topK } from '../util/topK';
import { inverseDocumentFrequency, lengthNorm, queryTerms, termScore } from './lexicalTerms';
import { LEGACY_LEXICAL_FILE, MiniSearchLexicalIndex } from './lexicalJson';

export const LEXICAL_FILE = 'lexical.bin';
export const LEXICAL_MAGIC = Array.from('ILBM25\n\0', (c) => c.charCodeAt(0));
export const LEXICAL_VERSION = 1;
const HEADER_BYTES = 48;

export interface LexicalFile {
  file: string;
  sha256: string;
}

/** The file names a manifest may give its lexical index. */
export const LEXICAL_FILES = [LEXICAL_FILE, LEGACY_LEXICAL_FILE];

/** Best BM25 matches of a text, as row positions. */
export interface LexicalSearch {
  /**
   * Row positions of the n documents with the highest Okapi BM25 score for `text`, best first, equal scores
   * by position (those sharing no term are never returned).
   */
  search(text: string, n: number): number[];
  close(): void;
}

export const LexicalIndex = {
  /** Opens the index's lexical file and checks it against the manifest's sha256. */
  load(dir: string, file: LexicalFile): LexicalSearch {
    return file.file === LEGACY_LEXICAL_FILE ? MiniSearchLexicalIndex.load(dir, file) : BinaryLexicalIndex.open(dir, file);
  },
};

class BinaryLexicalIndex implements LexicalSearch {
  private readonly decoder = new TextDecoder();
  /** Each document's length term of BM25's denominator, computed once. */
  private readonly norms: Float64Array;

  private constructor(
    private readonly path: string,
    private readonly fd: number,
    private readonly N: number,
    average: number,
    lengths: Uint32Array,
    private readonly ends: Uint32Array,
    private readonly starts: Float64Array,
    private readonly termBytes: Uint8Array,
    private readonly postingsAt: number,
    private readonly P: number,
  ) {
    this.norms = Float64Array.from(lengths, (length) => lengthNorm(length, average));
  }

  static open(dir: string, file: LexicalFile): BinaryLexicalIndex {
    const path = join(dir, file.file);
    const { fd, size } = openRegularFile(path, 'lexical index');
    try {
      const corrupt = (why: string) => new InfluenceLensError('INDEX_CORRUPT', `${path} ${why}: rebuild the index`, { file: path });
      if (sha256OfOpen(fd, size) !== file.sha256) throw corrupt('does not match the index manifest (changed or damaged)');
      const read = (at: number, bytes: number): ArrayBuffer => {
        const out = new Uint8Array(bytes);
        if (readSync(fd, out, 0, bytes, at) !== bytes) throw corrupt('is cut short');
        return out.buffer;
      };
      if (size < HEADER_BYTES) throw corrupt('is cut short');
      const h = new DataView(read(0, HEADER_BYTES));
      if (LEXICAL_MAGIC.some((c, i) => h.getUint8(i) !== c) || h.getUint32(8, true) !== LEXICAL_VERSION) throw corrupt('is not a BM25 index of this version');
      const N = h.getUint32(12, true);
      const T = h.getUint32(16, true);
      const [average, P, B] = [h.getFloat64(24, true), h.getFloat64(32, true), h.getFloat64(40, true)];
      let at = HEADER_BYTES;
      const lengths = new Uint32Array(read(at, 4 * N));
      const ends = new Uint32Array(read((at += 4 * N), 4 * T));
      const starts = new Float64Array(read((at += 4 * T), 8 * (T + 1)));
      const termBytes = new Uint8Array(read((at += 8 * (T + 1)), B));
      const postingsAt = at + B + ((4 - (B % 4)) % 4);
      if (postingsAt + 6 * P !== size || starts[T] !== P) throw corrupt(`has ${size} bytes, not the ${postingsAt + 6 * P} its header describes`);
      return new BinaryLexicalIndex(path, fd, N, average, lengths, ends, starts, termBytes, postingsAt, P);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  search(text: string, n: number): number[] {
    const scores = new Float64Array(this.N).fill(NaN); // NaN: shares no term, never selected
    const matched = new Uint16Array(this.N);
    const counted = new Set<number>();
    for (const term of queryTerms(text)) {
      const t = this.find(term);
      if (t < 0) continue;
      const first = !counted.has(t);
      counted.add(t);
      const { docs, tfs } = this.postings(t);
      const idf = inverseDocumentFrequency(this.N, docs.length);
      for (let i = 0; i < docs.length; i++) {
        const d = docs[i];
        const s = termScore(idf, tfs[i], this.norms[d]);
        scores[d] = Number.isNaN(scores[d]) ? s : scores[d] + s;
        if (first) matched[d]++;
      }
    }
    // MiniSearch multiplied by the distinct terms matched and the first format divided it out: kept, so
    // that equal scores stay equal (and ties ordered by position) as they were.
    for (let d = 0; d < this.N; d++) if (matched[d] > 0) scores[d] = (scores[d] * matched[d]) / matched[d];
    return topK(scores, n);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** The term's position in the sorted dictionary, or −1. */
  private find(term: string): number {
    let lo = 0;
    let hi = this.ends.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const t = this.decoder.decode(this.termBytes.subarray(mid === 0 ? 0 : this.ends[mid - 1], this.ends[mid]));
      if (t === term) return mid;
      if (t < term) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  private postings(t: number): { docs: Uint32Array; tfs: Uint16Array } {
    const [from, count] = [this.starts[t], this.starts[t + 1] - this.starts[t]];
    const docs = new Uint32Array(count);
    const tfs = new Uint16Array(count);
    const got =
      readSync(this.fd, new Uint8Array(docs.buffer), 0, 4 * count, this.postingsAt + 4 * from) +
      readSync(this.fd, new Uint8Array(tfs.buffer), 0, 2 * count, this.postingsAt + 4 * this.P + 2 * from);
    if (got !== 6 * count) throw new InfluenceLensError('INDEX_CORRUPT', `${this.path} is cut short: rebuild the index`, { file: this.path });
    return { docs, tfs };
  }
}
