/**
 * `npm run demo:train`: trains the demo model (a small Llama) on the demo corpus with the project's own
 * tfjs trainer (AdamW, seeded, data-parallel over worker threads) and writes it as a Hugging Face folder
 * in demo/model with its training record. Deterministic for a given seed, whatever the worker count.
 */
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import { parseBackendRequest } from '../../server/src/engine/device/backend';
import { writeHuggingFaceFolder } from '../../server/src/engine/model/huggingface';
import { loadCheckpoint } from '../../server/src/engine/model/load';
import type { ModelConfig } from '../../server/src/engine/model/types';
import { loadHuggingFaceTokenizer } from '../../server/src/engine/tokenizer/huggingface';
import { initLlama } from '../../server/src/engine/train/init';
import { packRows, train } from '../../server/src/engine/train/train';
import { hashInts } from '../../server/src/engine/util/random';
import { writeTextAtomically } from '../../server/src/engine/util/atomic';
import type { Tokenizer } from '../../server/src/engine/tokenizer/types';
import { readCorpusJsonl } from './tokenizer/main';

const ROOT = resolve(__dirname, '..', '..');

export const DEMO_CONFIG = (vocabSize: number, bosId: number, eosId: number): ModelConfig => ({
  architecture: 'llama',
  vocabSize,
  dim: 128,
  hiddenDim: 352,
  nLayers: 4,
  nHeads: 4,
  nKvHeads: 2,
  maxSeqLen: 256,
  normEps: 1e-5,
  ropeTheta: 10000,
  activation: 'silu',
  bosId,
  eosId,
});

/** 1 document in 50, chosen by a hash of its id: held out from training. */
export function isHeldOut(id: string): boolean {
  return hashInts(Array.from(id, (c) => c.charCodeAt(0))) % 50 === 0;
}

/** The demo corpus as [BOS] + tokens + [EOS] sequences, split into training and held-out documents. */
export function demoSequences(corpus: string, tokenizer: Tokenizer): { all: number; train: number[][]; heldOut: number[][] } {
  const docs = readCorpusJsonl(corpus);
  const encode = (text: string) => [tokenizer.bosId, ...tokenizer.encode(text), tokenizer.eosId];
  return {
    all: docs.length,
    train: docs.filter((d) => !isHeldOut(d.id)).map((d) => encode(d.text)),
    heldOut: docs.filter((d) => isHeldOut(d.id)).map((d) => encode(d.text)),
  };
}

async function main() {
  const { values: v } = parseArgs({
    options: {
      corpus: { type: 'string', default: join(ROOT, 'demo', 'data', 'corpus.jsonl') },
      tokenizer: { type: 'string', default: join(ROOT, 'demo', 'data', 'tokenizer') },
      out: { type: 'string', default: join(ROOT, 'demo', 'model') },
      workers: { type: 'string' },
      backend: { type: 'string', default: 'auto' },
      epochs: { type: 'string', default: '12' },
      'rows-per-step': { type: 'string', default: '32' },
      'row-length': { type: 'string', default: '256' },
      lr: { type: 'string', default: '3e-3' },
      seed: { type: 'string', default: '0' },
      'time-budget': { type: 'string' },
      /** Continue from a saved model (e.g. demo/model) instead of a fresh initialisation. */
      init: { type: 'string' },
    },
  });
  const tokenizer = loadHuggingFaceTokenizer(v.tokenizer!);
  const { all, train: trainDocs, heldOut: heldDocs } = demoSequences(v.corpus!, tokenizer);
  const rowLength = Number(v['row-length']);
  const rows = packRows(trainDocs, rowLength);
  const heldOut = packRows(heldDocs, rowLength);
  const rowsPerStep = Number(v['rows-per-step']);
  const steps = Math.ceil((Number(v.epochs) * rows.length) / rowsPerStep);
  const config = DEMO_CONFIG(tokenizer.vocabSize, tokenizer.bosId, tokenizer.eosId);
  const seed = Number(v.seed);
  const init = v.init ? loadCheckpoint(v.init) : initLlama(config, seed);
  const previous = v.init ? (JSON.parse(readFileSync(join(v.init, 'training.json'), 'utf8')) as { tokens: number; stages?: unknown[] }) : undefined;
  const workers = v.workers !== undefined ? Number(v.workers) : undefined;
  const pool = await openComputePool(init, { backend: parseBackendRequest(v.backend), workers });
  const log = (s: string) => process.stderr.write(`demo:train: ${s}\n`);
  log(
    `${all} documents (${heldDocs.length} held out), ${rows.length} training rows of ${rowLength} tokens, ${steps} steps, backend ${pool.backend.name} × ${pool.size}`,
  );
  const started = Date.now();
  try {
    const { checkpoint, history } = await train({
      pool,
      init,
      train: rows,
      heldOut,
      steps,
      rowsPerStep,
      rowsPerMicroBatch: 2,
      lr: Number(v.lr),
      warmupSteps: v.init ? Math.min(20, Math.floor(steps / 10)) : Math.min(100, Math.floor(steps / 10)),
      minLrFraction: 0.1,
      clipNorm: 1,
      seed,
      evalEvery: Math.max(1, Math.floor(steps / 10)),
      shouldStop: v['time-budget'] ? () => Date.now() - started > Number(v['time-budget']) * 1000 : undefined,
      onStep: (s) => {
        if (s.step % 10 === 0 || s.heldOutLoss !== undefined) {
          log(
            `step ${s.step}/${steps} loss ${s.loss.toFixed(3)}${s.heldOutLoss !== undefined ? ` held-out ${s.heldOutLoss.toFixed(3)}` : ''} lr ${s.lr.toExponential(2)} ${Math.round(s.tokens / (s.elapsedMs / 1000))} tok/s`,
          );
        }
      },
    });
    mkdirSync(v.out!, { recursive: true });
    writeHuggingFaceFolder(v.out!, checkpoint);
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(v.tokenizer!, f), join(v.out!, f));
    const last = history[history.length - 1];
    const record = {
      // Training continued from an earlier run: its record is kept in `stages`.
      ...(previous ? { continuedFrom: v.init, stages: [...(previous.stages ?? [{ ...previous, curve: undefined }])] } : {}),
      seed,
      steps: last.step,
      plannedSteps: steps,
      epochs: Number(v.epochs),
      rowsPerStep,
      rowLength,
      tokens: last.tokens + (previous?.tokens ?? 0),
      finalTrainLoss: last.loss,
      heldOutLoss: last.heldOutLoss,
      heldOutRows: heldOut.length,
      heldOutRule: 'documents whose id hashes to 0 mod 50 (demo/src/train.ts isHeldOut), packed into rows',
      wallSeconds: (Date.now() - started) / 1000,
      backend: pool.backend.name,
      workers: pool.size,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
      curve: history.filter((h) => h.heldOutLoss !== undefined).map((h) => ({ step: h.step, loss: h.loss, heldOutLoss: h.heldOutLoss })),
    };
    writeTextAtomically(join(v.out!, 'training.json'), JSON.stringify(record, null, 2) + '\n');
    log(`wrote ${v.out} (held-out loss ${last.heldOutLoss?.toFixed(4)} nats/token, ${record.wallSeconds.toFixed(0)} s)`);
  } finally {
    await pool.dispose();
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`demo:train failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}
