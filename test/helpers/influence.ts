/** Fit-and-score through the engine's own entry points, on a corpus written to a temp folder. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackendRequest } from '../../server/src/engine/device/backend';
import { openComputePool, type ComputePool } from '../../server/src/engine/compute/computePool';
import { corpusFingerprint } from '../../server/src/engine/corpus/fingerprint';
import { fitFactors } from '../../server/src/engine/ekfac/fit';
import { loadFactors, type LoadedFactors } from '../../server/src/engine/ekfac/load';
import type { FactorIdentity } from '../../server/src/engine/ekfac/store';
import type { FitSettings, Strategy } from '../../server/src/engine/ekfac/types';
import { fingerprintCheckpoint } from '../../server/src/engine/model/load';
import { bosId, stopIds, type OpenedModel } from '../../server/src/engine/model/openModel';
import { trackedModules } from '../../server/src/engine/model/tfModel';
import type { QueryRecord } from '../../server/src/engine/queries/types';
import { resolveQueries } from '../../server/src/engine/score/queries';
import { scoreCorpus, type ScoreOutput } from '../../server/src/engine/score/score';
import type { Shard } from '../../server/src/engine/corpus/sequences';

export function writeJsonlCorpus(texts: { text: string; source?: string }[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-corpus-'));
  const path = join(dir, 'corpus.jsonl');
  writeFileSync(path, texts.map((t, i) => JSON.stringify({ id: `d${i}`, ...t })).join('\n') + '\n');
  return path;
}

export function queryRecords(qs: { prompt: string; completion?: string }[]): QueryRecord[] {
  return qs.map((q, i) => ({ id: `q${i}`, file: 'inline', line: i + 1, ...q }));
}

export interface Setup {
  model: OpenedModel;
  corpus: string;
  settings?: Partial<FitSettings>;
  workers?: number;
  modules?: string[];
  /** wasm unless named (the GPU conformance tests run the same helpers on webgpu). */
  backend?: BackendRequest;
}

export async function identityFor(s: Setup, strategy: Strategy): Promise<FactorIdentity> {
  const settings: FitSettings = {
    strategy,
    fisher: 'sampled',
    seed: 0,
    maxLen: 128,
    maxDocs: 100_000,
    modules: s.modules ?? trackedModules(s.model.checkpoint.config).map((m) => m.name),
    ...s.settings,
  };
  return {
    model: { fingerprint: await fingerprintCheckpoint(s.model.checkpoint), path: 'test', architecture: s.model.checkpoint.config.architecture },
    corpus: { fingerprint: await corpusFingerprint({ path: s.corpus, maxDocs: settings.maxDocs }), path: s.corpus },
    settings,
  };
}

export async function withPool<T>(s: Setup, fn: (pool: ComputePool) => Promise<T>): Promise<T> {
  const pool = await openComputePool(s.model.checkpoint, { backend: s.backend ?? 'wasm', workers: s.workers ?? 1, modules: s.modules });
  try {
    return await fn(pool);
  } finally {
    await pool.dispose();
  }
}

export async function fit(s: Setup, strategy: Strategy, out: string, opts: { shard?: Shard; batchSize?: number; signal?: AbortSignal } = {}) {
  const identity = await identityFor(s, strategy);
  return withPool(s, (pool) => fitFactors({ pool, tokenizer: s.model.tokenizer, bos: bosId(s.model), corpus: { path: s.corpus }, identity, out, ...opts }));
}

export async function score(
  s: Setup,
  factorsDir: string,
  queries: QueryRecord[],
  opts: { rank?: number; damping?: number; selfInfluence?: boolean; shard?: Shard; batchSize?: number; contraction?: 'auto' | 'dense' | 'lowrank' } = {},
): Promise<ScoreOutput & { factors: LoadedFactors }> {
  const identity = await identityFor(s, 'identity');
  const factors = await loadFactors(factorsDir, { model: identity.model });
  const maxLen = factors.manifest.settings.maxLen;
  return withPool(s, async (pool) => {
    const prepared = await resolveQueries(queries, {
      pool,
      tokenizer: s.model.tokenizer,
      bos: bosId(s.model),
      stopIds: stopIds(s.model),
      maxNewTokens: 16,
      maxLen,
    });
    const out = await scoreCorpus({
      pool,
      tokenizer: s.model.tokenizer,
      bos: bosId(s.model),
      corpus: { path: s.corpus },
      factors,
      queries: prepared,
      maxLen,
      ...opts,
    });
    return { ...out, factors };
  });
}

/** Ten TinyStories-style queries with completions (tests take the first n). */
export const STORY_QUERIES = queryRecords([
  { prompt: 'Once upon a time, there was a little girl named', completion: ' Lily. She loved to play outside.' },
  { prompt: 'Tom had a red ball. He', completion: ' threw it to his friend Sam.' },
  { prompt: 'The sun was shining and the birds', completion: ' were singing in the trees.' },
  { prompt: 'Mom said, "Time for bed." The boy', completion: ' was sad but he went to sleep.' },
  { prompt: 'One day, a big dog found a', completion: ' bone in the garden.' },
  { prompt: 'Lily and Ben went to the park to', completion: ' play on the swings.' },
  { prompt: 'The cat was hungry, so it', completion: ' ate the fish.' },
  { prompt: 'Sue wanted to help her friend, so she', completion: ' gave her a hug.' },
  { prompt: 'There was a tree with many', completion: ' red apples.' },
  { prompt: 'At night, the moon', completion: ' was big and bright.' },
]);

/** Temp folders for one test file, removed by `cleanup` (register it with test.after). */
export function tempDirs(prefix: string): { tmp: () => string; cleanup: () => void } {
  const dirs: string[] = [];
  return {
    tmp: () => {
      const d = mkdtempSync(join(tmpdir(), prefix));
      dirs.push(d);
      return d;
    },
    cleanup: () => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })),
  };
}
