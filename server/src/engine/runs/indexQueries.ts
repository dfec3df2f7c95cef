/**
 * Opening a gradient index for instant queries (the language server's hovers): the index is checked
 * against the model and factors, its rows spread over the compute threads, and the query engine made.
 */
import { IndexQueryEngine } from '../gradindex/queryEngine';
import { IndexSearcher } from '../gradindex/search';
import { LexicalIndex, type LexicalSearch } from '../gradindex/lexical';
import { RescoreReader } from '../gradindex/rescore/store';
import type { IndexManifest } from '../gradindex/types';
import { DEFAULT_MAX_NEW_TOKENS } from './defaults';
import type { FactorSet } from './factors';
import type { ModelRun } from './modelRun';

export interface OpenIndex {
  engine: IndexQueryEngine;
  searcher: IndexSearcher;
  /** The rescoring tier's rows, read for a query's candidates (absent: the index has none). */
  rescore?: RescoreReader;
  /** BM25 over the documents' text, for candidates (absent: the index has none). */
  lexical?: LexicalSearch;
  /** Releases the rows the compute threads hold. */
  close(): Promise<void>;
}

/**
 * `o.corpus`: the corpus the answers' documents are read from (reranks, snippets, the document view), with
 * its fingerprint: an index built on another corpus is refused (INDEX_MISMATCH) rather than paired with it.
 */
export async function openIndexQueries(
  run: ModelRun,
  f: FactorSet,
  dir: string,
  o: { damping?: number; maxNewTokens?: number; corpus?: { fingerprint: string; path: string } } = {},
): Promise<OpenIndex> {
  const modelId = await run.modelId();
  const searcher = await IndexSearcher.openOnPool(dir, { modelFingerprint: modelId.fingerprint, factors: f.factors, corpus: o.corpus }, run.pool);
  try {
    const engine = await IndexQueryEngine.create({
      pool: run.pool,
      tokenizer: run.tokenizer,
      bos: run.bos,
      stopIds: run.stopIds,
      factors: f.factors,
      searcher,
      maxLen: f.maxLen,
      maxNewTokens: o.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS,
      damping: o.damping,
    });
    const { rescore, lexical } = openIndexTiers(dir, searcher.manifest);
    return {
      engine,
      searcher,
      rescore,
      lexical,
      close: async () => {
        rescore?.close();
        lexical?.close();
        await searcher.close();
      },
    };
  } catch (e) {
    await searcher.close();
    throw e;
  }
}

/** The index's rescoring tier and BM25 index, where it was built with them (both checked against the manifest). */
export function openIndexTiers(dir: string, manifest: IndexManifest): { rescore?: RescoreReader; lexical?: LexicalSearch } {
  const rescore = manifest.rescore ? new RescoreReader(dir, manifest.rescore, manifest.rescore.chunks) : undefined;
  try {
    return { rescore, lexical: manifest.lexical ? LexicalIndex.load(dir, manifest.lexical) : undefined };
  } catch (e) {
    rescore?.close();
    throw e;
  }
}
