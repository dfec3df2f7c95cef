/**
 * The text of the documents a report shows, read from the scored corpus in one streaming pass and
 * checked against the results (same id and source at each index, and the corpus fingerprint results.json
 * records: a changed corpus would put other documents' text, or other text, on the cards). Read problems
 * are answered, not thrown: a report without snippets is still a report.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { readCorpus } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';
import type { LoadedResults } from '../results/types';
import { scoredCorpusProblem } from '../results/scoredCorpus';

/** The corpus: `given`, else results.corpus.path (relative: to the working folder, then to the results folder). */
export function locateCorpus(loaded: Pick<LoadedResults, 'dir' | 'results'>, given?: string): string | undefined {
  if (given) return given;
  const recorded = loaded.results.corpus.path;
  if (!recorded) return undefined;
  if (isAbsolute(recorded) || existsSync(recorded)) return recorded;
  const beside = resolve(loaded.dir, recorded);
  return existsSync(beside) ? beside : recorded;
}

export interface DocumentTexts {
  texts: Map<number, string>;
  /** Why some or all texts are missing. */
  problem?: string;
}

export async function readDocumentTexts(
  loaded: Pick<LoadedResults, 'dir' | 'results'>,
  corpus: Partial<CorpusOptions>,
  need: ReadonlySet<number>,
  signal?: AbortSignal,
): Promise<DocumentTexts> {
  const texts = new Map<number, string>();
  if (need.size === 0) return { texts };
  if (!corpus.path || !existsSync(corpus.path)) return { texts, problem: `corpus not found: ${corpus.path ?? '(none recorded)'}; pass --corpus` };
  const scored = new Map(loaded.results.documents.map((d) => [d.index, d]));
  let last = 0;
  for (const i of need) last = Math.max(last, i);
  let mismatched = 0;
  for await (const doc of readCorpus(corpus as CorpusOptions, undefined, signal)) {
    if (need.has(doc.index)) {
      const s = scored.get(doc.index);
      if (!s || s.id !== doc.id || s.source !== doc.source) mismatched++;
      else texts.set(doc.index, doc.text);
    }
    if (doc.index >= last) break;
  }
  if (mismatched > 0 || texts.size < need.size) {
    return {
      texts: mismatched > 0 ? new Map() : texts,
      problem: `the corpus at ${corpus.path} is not the one scored (${mismatched} documents differ in id or source, ${need.size - texts.size - mismatched} missing); pass --corpus (and --text-field etc. as for score)`,
    };
  }
  // Same ids and sources; the text itself may still have changed since scoring.
  const changed = await scoredCorpusProblem(loaded, corpus as CorpusOptions, signal);
  return changed ? { texts: new Map(), problem: changed } : { texts };
}
