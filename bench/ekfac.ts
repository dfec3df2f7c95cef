/** EK-FAC stage throughput on stories260K + TinyStories: covariance, eigendecomposition, eigenvalue correction, scoring. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openFactorSet } from '../server/src/engine/runs/factors';
import { runFit } from '../server/src/engine/runs/fit';
import { runScore } from '../server/src/engine/runs/score';
import { openStories260KRun, sharedFixtures, tinyStoriesSequences } from './fixtures';
import { runTorchBaseline } from './torchBaseline';
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

export async function benchEkfac(workers: number, maxLen: number, log: (s: string) => void) {
  const corpus = join(sharedFixtures(), 'tinystories', 'valid-head.jsonl');
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-'));
  const run = await openStories260KRun({ backend: 'wasm', workers });
  try {
    // Warm every thread up (kernel compilation) outside the timings.
    await run.pool.broadcast({
      kind: 'capture',
      sequences: [{ tokens: Array.from({ length: maxLen }, (_, i) => (i % 500) + 3) }],
      options: { labels: 'sampled', seed: 0 },
    });
    const fit = await runFit(run, { corpus: { path: corpus }, out: dir, maxLen });
    const stages: Record<string, StageFigure> = {};
    for (const [stage, r] of Object.entries(fit.stages)) {
      stages[stage] = { tokens: r.tokens, documents: r.documents, seconds: r.seconds, tokensPerSecond: r.tokens / r.seconds };
      log(`fit ${stage}: ${r.seconds.toFixed(2)} s${r.tokens ? `, ${Math.round(r.tokens / r.seconds)} tokens/s` : ''}`);
    }
    const factors = await openFactorSet(run, dir, { maxLen });
    const queries = PROMPTS.map((prompt, i) => ({ id: `q${i}`, prompt, file: 'bench', line: i + 1 }));
    const scoring: Record<string, StageFigure & { contraction: string }> = {};
    for (const rank of [undefined, 32]) {
      const t0 = Date.now();
      let tokens = 0;
      const out = await runScore(
        run,
        factors,
        { corpus: { path: corpus }, queries, rank, maxNewTokens: 24 },
        { onProgress: (p) => (tokens = p.tokens ?? tokens) },
      );
      const seconds = (Date.now() - t0) / 1000;
      const key = rank ? `rank${rank}` : 'fullRank';
      const contraction = [...new Set(Object.values(out.results.method.contraction))].join(',');
      scoring[key] = { tokens, documents: out.results.documents.length, seconds, tokensPerSecond: tokens / seconds, contraction };
      log(`score ${key} (10 queries): ${Math.round(tokens / seconds)} tokens/s`);
    }
    writeFileSync(join(dir, 'done'), '');
    const pytorch = await pytorchSideBySide(run, workers, maxLen, stages, scoring.fullRank, log);
    const index = await benchIndex({ run, factors, corpus: { path: corpus } }, log);
    return { ekfac: { workers, maxLen, corpusTokens: stages.covariance?.tokens, stages, scoring, pytorch }, index };
  } finally {
    await run.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The same passes in plain PyTorch on the same documents and threads (bench/torch_baseline.py), and the
 * engine's speed as a multiple of it; the two must agree on every document's loss first.
 */
async function pytorchSideBySide(
  run: Awaited<ReturnType<typeof openStories260KRun>>,
  threads: number,
  maxLen: number,
  stages: Record<string, StageFigure>,
  score: StageFigure,
  log: (s: string) => void,
) {
  // The run holds the checkpoint and tokenizer the engine used: the baseline gets the very same.
  const m = run;
  const sequences = tinyStoriesSequences(m, maxLen);
  const queries = PROMPTS.map((p) => [m.tokenizer.bosId, ...m.tokenizer.encode(p)]);
  const baseline = runTorchBaseline(m.checkpoint, sequences, queries, threads);
  if (!baseline.ran) {
    log(`pytorch baseline skipped: ${baseline.reason}`);
    return { skipped: baseline.reason };
  }
  const probe = sequences.slice(0, 16).map((tokens) => ({ tokens }));
  const engine = await run.pool.run({ kind: 'capture', sequences: probe, options: { labels: 'actual', seed: 0 } });
  const worst = Math.max(...engine.losses.map((l, i) => Math.abs(l - baseline.losses[i]) / Math.max(1, Math.abs(l))));
  if (!(worst < 1e-3)) throw new Error(`the PyTorch baseline computes other losses than the engine (worst relative difference ${worst})`);
  const ratio = (ours: StageFigure | undefined, theirs: { tokensPerSecond: number }) =>
    ours ? Number((ours.tokensPerSecond / theirs.tokensPerSecond).toFixed(2)) : null;
  const fitSeconds = (stages.covariance?.seconds ?? 0) + (stages.eigen?.seconds ?? 0) + (stages.lambda?.seconds ?? 0);
  const torchFit = baseline.passes.covariance.seconds + baseline.passes.lambda.seconds;
  const figures = {
    torch: baseline.torch,
    threads: baseline.threads,
    passes: baseline.passes,
    lossesAgreeWithin: Number(worst.toExponential(2)),
    speedRatio: {
      covariance: ratio(stages.covariance, baseline.passes.covariance),
      lambda: ratio(stages.lambda, baseline.passes.lambda),
      score: ratio(score, baseline.passes.score),
      fit: Number((torchFit / fitSeconds).toFixed(2)),
    },
  };
  log(
    `pytorch ${baseline.torch} × ${baseline.threads} threads: covariance ${Math.round(baseline.passes.covariance.tokensPerSecond)}, lambda ${Math.round(baseline.passes.lambda.tokensPerSecond)}, score ${Math.round(baseline.passes.score.tokensPerSecond)} tokens/s; the engine at ${JSON.stringify(figures.speedRatio)} of its speed`,
  );
  return figures;
}
