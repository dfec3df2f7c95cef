/**
 * Document text by corpus index, for what shows documents to people (snippets, the answer analysis, the
 * document view). The corpus is streamed once per call and only up to the last wanted document; each
 * document is checked against what was scored (same id and source at that index), so a corpus changed
 * since scoring is reported instead of showing another document's text.
 */
import { corpusInput, readCorpus } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';

export interface ExpectedDocument {
  id: string;
  source: string;
}

export interface DocumentTexts {
  texts: Map<number, string>;
  /** Wanted indexes whose document differs from the expected one (the corpus changed). */
  mismatched: number[];
  /** Wanted indexes past the end of the corpus. */
  missing: number[];
  /** Set when no text is given because the corpus is not the one scored (its text changed): why. */
  changed?: string;
}

export async function readDocumentTexts(
  corpus: CorpusOptions,
  wanted: Iterable<number>,
  expected?: (index: number) => ExpectedDocument | undefined,
  signal?: AbortSignal,
): Promise<DocumentTexts> {
  const need = new Set(wanted);
  const out: DocumentTexts = { texts: new Map(), mismatched: [], missing: [] };
  if (need.size === 0) return out;
  let last = 0;
  for (const i of need) last = Math.max(last, i);
  for await (const doc of readCorpus(corpus, undefined, signal)) {
    if (need.has(doc.index)) {
      const e = expected?.(doc.index);
      if (e && (e.id !== doc.id || e.source !== doc.source)) out.mismatched.push(doc.index);
      else out.texts.set(doc.index, doc.text);
    }
    if (doc.index >= last) break;
  }
  for (const i of need) if (!out.texts.has(i) && !out.mismatched.includes(i)) out.missing.push(i);
  return out;
}

/** Corpora up to this many bytes are held in memory once read (larger ones are streamed per request). */
export const IN_MEMORY_CORPUS_BYTES = 64 * 2 ** 20;

/**
 * Document texts for a long-lived host (the language server): a small corpus is read once and kept; a
 * large one is streamed for each request, with the most recent texts kept. Documents that are not the
 * ones scored (the corpus changed) are reported as such, never shown.
 */
export class CorpusTexts {
  private all: Promise<DocumentTexts> | undefined;
  private readonly recent = new Map<number, string>();
  /** The verdict of `scored` for the corpus at its current size. */
  private verdict: { bytes: number; problem: Promise<string | undefined> } | undefined;

  constructor(
    readonly corpus: CorpusOptions,
    private readonly expected?: (index: number) => ExpectedDocument | undefined,
    private readonly keep = 2_000,
    /**
     * For documents scored earlier (a results folder): why the corpus is not the one scored (its fingerprint
     * differs), or undefined. Checked once, and again when the corpus's size changes; no text is given while
     * it differs.
     */
    private readonly scored?: (signal?: AbortSignal) => Promise<string | undefined>,
  ) {}

  async get(indexes: Iterable<number>, signal?: AbortSignal): Promise<DocumentTexts> {
    const wanted = [...new Set(indexes)];
    if (this.scored) {
      const bytes = await corpusBytes(this.corpus);
      if (this.verdict?.bytes !== bytes) {
        const verdict = { bytes, problem: this.scored() };
        verdict.problem.catch(() => this.verdict === verdict && (this.verdict = undefined)); // retried by the next request
        this.verdict = verdict;
        this.all = undefined;
        this.recent.clear();
      }
      const changed = await this.verdict.problem;
      if (changed) return { texts: new Map(), mismatched: [], missing: [], changed };
    }
    if (this.all === undefined && (await corpusBytes(this.corpus)) <= IN_MEMORY_CORPUS_BYTES) {
      this.all = readAllTexts(this.corpus, this.expected);
      this.all.catch(() => (this.all = undefined)); // a failed read is retried by the next request
    }
    if (this.all) {
      const all = await this.all;
      return {
        texts: new Map(wanted.filter((i) => all.texts.has(i)).map((i) => [i, all.texts.get(i)!])),
        mismatched: wanted.filter((i) => all.mismatched.includes(i)),
        missing: wanted.filter((i) => !all.texts.has(i) && !all.mismatched.includes(i)),
      };
    }
    const missing = wanted.filter((i) => !this.recent.has(i));
    const read = await readDocumentTexts(this.corpus, missing, this.expected, signal);
    for (const [i, t] of read.texts) this.recent.set(i, t);
    while (this.recent.size > this.keep) this.recent.delete(this.recent.keys().next().value!);
    return {
      texts: new Map(wanted.filter((i) => this.recent.has(i)).map((i) => [i, this.recent.get(i)!])),
      mismatched: read.mismatched,
      missing: read.missing,
    };
  }
}

async function corpusBytes(corpus: CorpusOptions): Promise<number> {
  return (await corpusInput(corpus.path)).totalBytes;
}

async function readAllTexts(corpus: CorpusOptions, expected?: (index: number) => ExpectedDocument | undefined): Promise<DocumentTexts> {
  const out: DocumentTexts = { texts: new Map(), mismatched: [], missing: [] };
  for await (const doc of readCorpus(corpus)) {
    const e = expected?.(doc.index);
    if (e && (e.id !== doc.id || e.source !== doc.source)) out.mismatched.push(doc.index);
    else out.texts.set(doc.index, doc.text);
  }
  return out;
}
