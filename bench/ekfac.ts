/** EK-FAC stage throughput on stories260K + TinyStories: covariance, eigendecomposition, eigenvalue correction, scoring. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ComputePool } from '../server/src/engine/backend/pool';
import { corpusFingerprint } from '../server/src/engine/corpus/fingerprint';
import { fitFactors, type FitProgress } from '../server/src/engine/ekfac/fit';
import { loadFactors } from '../server/src/engine/ekfac/load';
import { fingerprintCheckpoint } from '../server/src/engine/model/load';
import { bosId, stopIds, type OpenedModel } from '../server/src/engine/model/openModel';
import { trackedModules } from '../server/src/engine/model/tfModel';
import { resolveQueries } from '../server/src/engine/score/queries';
import { scoreCorpus } from '../server/src/engine/score/score';
import { sharedFixtures } from './fixtures';
import { benchIndex } from './index';

const PROMPTS = [
  'Once upon a time, there was a little girl named',
  'Tom had a red ball. He',
  'The sun was shining and the birds',
  'Mom said, "Time for bed." The boy',
  'One day, a big dog found a',
  'Lily and Ben went to the park to',
  'The cat was hungry, so it',
  'There was a tree with many',
  'Sue wanted to help her friend, so she',
  'At night, the moon',
];

export interface StageFigure {
  tokens: number;
  documents: number;
  seconds: number;
  tokensPerSecond: number;
}

export async function benchEkfac(m: OpenedModel, workers: number, maxLen: number, log: (s: string) => void) {
  const corpus = join(sharedFixtures(), 'tinystories', 'valid-head.jsonl');
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-'));
  const pool = await ComputePool.create(m.checkpoint, { backend: 'wasm', workers });
  try {
    const settings = { strategy: 'ekfac' as const, fisher: 'sampled' as const, seed: 0, maxLen, maxDocs: 100_000, modules: trackedModules(m.checkpoint.config).map((t) => t.name) };
    const identity = {
      model: { fingerprint: await fingerprintCheckpoint(m.checkpoint), path: 'stories260K', architecture: 'llama' },
      corpus: { fingerprint: await corpusFingerprint({ path: corpus, maxDocs: settings.maxDocs }), path: corpus },
      settings,
    };
    // Warm every thread up (kernel compilation) outside the timings.
    await pool.broadcast({ kind: 'capture', sequences: [{ tokens: Array.from({ length: maxLen }, (_, i) => (i % 500) + 3) }], options: { labels: 'sampled', seed: 0 } });
    const stages: Record<string, StageFigure> = {};
    let last: FitProgress | undefined;
    let stageStart = Date.now();
    await fitFactors({
      pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      corpus: { path: corpus },
      identity,
      out: dir,
      onProgress: (p) => {
        if (p.stage !== last?.stage) stageStart = Date.now();
        last = { ...p };
      },
      onStage: (stage) => {
        const seconds = (Date.now() - stageStart) / 1000;
        const tokens = stage === 'eigen' ? 0 : (last?.tokens ?? 0);
        stages[stage] = { tokens, documents: stage === 'eigen' ? 0 : (last?.documents ?? 0), seconds, tokensPerSecond: tokens / seconds };
        log(`fit ${stage}: ${seconds.toFixed(2)} s${tokens ? `, ${Math.round(tokens / seconds)} tokens/s` : ''}`);
        stageStart = Date.now();
      },
    });
    const factors = await loadFactors(dir, { model: identity.model });
    const queries = await resolveQueries(
      PROMPTS.map((prompt, i) => ({ id: `q${i}`, prompt, file: 'bench', line: i + 1 })),
      { pool, tokenizer: m.tokenizer, bos: bosId(m), stopIds: stopIds(m), maxNewTokens: 24, maxLen },
    );
    const scoring: Record<string, StageFigure & { contraction: string }> = {};
    for (const rank of [undefined, 32]) {
      const t0 = Date.now();
      let tokens = 0;
      const out = await scoreCorpus({ pool, tokenizer: m.tokenizer, bos: bosId(m), corpus: { path: corpus }, factors, queries, maxLen, rank, onProgress: (p) => (tokens = p.tokens) });
      const seconds = (Date.now() - t0) / 1000;
      const key = rank ? `rank${rank}` : 'fullRank';
      scoring[key] = { tokens, documents: out.documents.length, seconds, tokensPerSecond: tokens / seconds, contraction: [...new Set(Object.values(out.contraction))].join(',') };
      log(`score ${key} (10 queries): ${Math.round(tokens / seconds)} tokens/s`);
    }
    writeFileSync(join(dir, 'done'), '');
    const index = await benchIndex({ m, pool, factors, model: { fingerprint: identity.model.fingerprint, path: 'stories260K' }, corpus: identity.corpus, maxLen }, log);
    return { ekfac: { workers, maxLen, corpusTokens: stages.covariance?.tokens, stages, scoring }, index };
  } finally {
    await pool.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}
