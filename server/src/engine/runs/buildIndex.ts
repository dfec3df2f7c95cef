/** Building the gradient index (docs/INDEX.md) for a model, its factors and a corpus. */
import { corpusFingerprint } from '../corpus/fingerprint';
import type { Shard } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import { buildIndex, DEFAULT_INDEX_DIM } from '../index/build';
import type { IndexManifest } from '../index/types';
import type { FactorSet } from './factors';
import type { ModelRun } from './modelRun';
import { stageProgress, type RunHooks } from './progress';
import { prepareOutput } from '../util/output';

export interface IndexRequest {
  corpus: CorpusOptions;
  out: string;
  /** Entries kept per document and module: a share ("50%") or a count (default DEFAULT_INDEX_DIM). */
  dim?: string;
  damping?: number;
  shard?: Shard;
  batchSize?: number;
  /** Target bytes per chunk file (tests). */
  chunkBytes?: number;
}

export async function runIndexBuild(run: ModelRun, f: FactorSet, r: IndexRequest, hooks: RunHooks = {}): Promise<IndexManifest> {
  prepareOutput(r.out, 'index', [f.dir, run.options.model, r.corpus.path]);
  const modelId = await run.modelId();
  const progress = stageProgress(hooks, r.shard ? `index shard ${r.shard.index}/${r.shard.count}` : 'index');
  return buildIndex({
    pool: run.pool,
    tokenizer: run.tokenizer,
    bos: run.bos,
    corpus: r.corpus,
    factors: f.factors,
    model: { fingerprint: modelId.fingerprint, path: modelId.path },
    corpusFingerprint: await corpusFingerprint(r.corpus, hooks.signal),
    out: r.out,
    dim: r.dim ?? DEFAULT_INDEX_DIM,
    maxLen: f.maxLen,
    damping: r.damping,
    shard: r.shard,
    chunkBytes: r.chunkBytes,
    batchSize: r.batchSize ?? run.pool.batchSize,
    signal: hooks.signal,
    onProgress: (p) => progress({ done: p.documents, tokens: p.tokens }),
  });
}
