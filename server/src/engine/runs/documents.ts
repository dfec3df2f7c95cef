/**
 * Document text by corpus index, for what shows documents to people (snippets, the answer analysis, the
 * document view). The corpus is streamed once per call and only up to the last wanted document; each
 * document is checked against what was scored (same id and source at that index), so a corpus changed
 * since scoring is reported instead of showing another document's text.
 */
import { readCorpus } from '../corpus/corpus';
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
