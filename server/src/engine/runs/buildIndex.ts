/** Building the gradient index (docs/INDEX.md) for a model, its factors and a corpus. */
import { corpusFingerprint } from '../corpus/fingerprint';
import type { Shard } from '../corpus/sequences';
import type { CorpusOptions } from '../corpus/types';
import { buildIndex, sketchChoice } from '../gradindex/build';
import type { IndexManifest } from '../gradindex/types';
import type { FactorSet } from './factors';
import type { ModelRun } from './modelRun';
import { stageProgress, type RunHooks } from './progress';
import { prepareOutput, withOutputs } from '../util/output';
import { checkDamping } from '../score/precondition';

export interface IndexRequest {
  corpus: CorpusOptions;
  out: string;
  /** What a document row holds: "eigen:16x32", "kron:24x24", "count:8192", "blocks:50%" (default DEFAULT_SKETCH). */
  sketch?: string;
  /** Seed of the random projections (kron, count; default 0). */
  seed?: number;
  /** blocks only: λ that weighs entries when choosing them (default 0.1 × mean Λ per module). */
  damping?: number;
  shard?: Shard;
  batchSize?: number;
  /** Target bytes per chunk file (tests). */
  chunkBytes?: number;
}

export async function runIndexBuild(run: ModelRun, f: FactorSet, r: IndexRequest, hooks: RunHooks = {}): Promise<IndexManifest> {
  return withOutputs([() => prepareOutput(r.out, 'index', [f.dir, run.options.model, r.corpus.path])], () => buildPrepared(run, f, r, hooks));
}

async function buildPrepared(run: ModelRun, f: FactorSet, r: IndexRequest, hooks: RunHooks): Promise<IndexManifest> {
  if (r.damping !== undefined) checkDamping(r.damping);
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
    sketch: sketchChoice(r.sketch),
    seed: r.seed,
    maxLen: f.maxLen,
    damping: r.damping,
    shard: r.shard,
    chunkBytes: r.chunkBytes,
    batchSize: r.batchSize ?? run.pool.batchSize,
    signal: hooks.signal,
    onProgress: (p) => progress({ done: p.documents, tokens: p.tokens }),
  });
}
