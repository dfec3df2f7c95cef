/**
 * Memory and time per shard for the scheduler's requests, from the model's sizes and the corpus's tokens.
 * Every figure comes with the line of arithmetic that produced it (the plan's README prints them), so a
 * user can check it and correct the inputs (--tokens-per-second from a benchmark on their card).
 */
import type { ModelShape } from './modelShape';

export interface CorpusSize {
  documents: number;
  /** Tokens the passes read: each document's estimated tokens (4 characters each, plus BOS), cut to maxLen. */
  tokens: number;
}

export interface Estimate {
  /** Memory request of a shard of a corpus pass, and of a merge or the eigendecomposition, in MiB. */
  shardMemoryMiB: number;
  mergeMemoryMiB: number;
  /** Time limit of one shard of one pass, and of a merge/eigen/analysis job, in minutes. */
  shardMinutes: number;
  singleMinutes: number;
  tokensPerSecond: number;
  /** The arithmetic, one line per figure. */
  lines: string[];
}

const MiB = 2 ** 20;
/** Measured on 2 CPU cores (wasm): ~600 tokens/s for the 0.9M-parameter demo model (docs/GPU.md): compute ∝ parameters. */
const CPU_PARAM_TOKENS_PER_SECOND = 5e8;

/** symmetricEigen (linalg/eigh.ts) of n = 384 took 0.47 s on one core here: n³ ÷ 1.2·10⁸ seconds. */
const EIGEN_CUBES_PER_SECOND = 1.2e8;

/** Characters per token of a BPE tokenizer on English text: the plan's token estimate before any tokenizer runs. */
export const CHARS_PER_TOKEN = 4;

export function estimate(
  m: ModelShape,
  corpus: CorpusSize,
  o: { shards: number; maxLen: number; batchSize: number; queries: number; tokensPerSecond?: number },
): Estimate {
  const lines: string[] = [];
  const mib = (b: number) => Math.ceil(b / MiB);
  // The tracked modules (every MLP linear) and their factors: A = in², S = out², Λ = out·in per module.
  const linears = m.layers * m.mlpLinears;
  const inOut =
    m.mlpLinears === 3
      ? [
          [m.dim, m.hiddenDim],
          [m.dim, m.hiddenDim],
          [m.hiddenDim, m.dim],
        ]
      : [
          [m.dim + 1, m.hiddenDim],
          [m.hiddenDim + 1, m.dim],
        ];
  const perLayer = inOut.reduce((a, [i, o]) => a + i * i + o * o + o * i, 0);
  const factorValues = perLayer * m.layers;
  const weights = m.parameters * 4;
  const sums = factorValues * 8; // float64 accumulators
  const activations = o.batchSize * o.maxLen * (4 * m.dim + 3 * m.hiddenDim) * m.layers * 4 * 2;
  const queryGradients = o.queries * factorValues * 4;
  const runtime = 1024 * MiB;
  const shardBytes = (2 * weights + sums + activations + queryGradients + runtime) * 1.25;
  lines.push(
    `memory per shard = 1.25 × (2 × weights ${mib(weights)} MiB (float32, + gradients) + float64 factor sums ${mib(sums)} MiB ` +
      `(${linears} MLP linears, ${factorValues.toLocaleString('en')} values: in² + out² + out·in each) + activations ${mib(activations)} MiB ` +
      `(batch ${o.batchSize} × ${o.maxLen} tokens × (4·${m.dim} + 3·${m.hiddenDim}) × ${m.layers} layers × 4 B × 2) + query gradients ${mib(queryGradients)} MiB ` +
      `(${o.queries} queries) + 1024 MiB runtime) = ${mib(shardBytes)} MiB`,
  );
  const mergeBytes = (2 * sums + weights + runtime) * 1.25;
  lines.push(
    `memory of a merge or the eigendecomposition = 1.25 × (2 × factor sums ${mib(sums)} MiB + weights ${mib(weights)} MiB + 1024 MiB) = ${mib(mergeBytes)} MiB`,
  );
  const tps = o.tokensPerSecond ?? CPU_PARAM_TOKENS_PER_SECOND / m.parameters;
  lines.push(
    o.tokensPerSecond
      ? `tokens/s per shard = ${tps} (--tokens-per-second)`
      : `tokens/s per shard = 5e8 / ${m.parameters.toLocaleString('en')} parameters = ${tps.toFixed(1)} (2 CPU cores on wasm, docs/GPU.md; pass --tokens-per-second from npm run bench:gpu on your card)`,
  );
  const shardTokens = Math.ceil(corpus.tokens / o.shards);
  const seconds = (shardTokens / tps) * 2 + 120;
  const shardMinutes = Math.max(10, Math.ceil(seconds / 60));
  lines.push(
    `time per shard = 2 × ${shardTokens.toLocaleString('en')} tokens (${corpus.tokens.toLocaleString('en')} of ${corpus.documents.toLocaleString('en')} documents ÷ ${o.shards} shards) ÷ ${tps.toFixed(1)} tokens/s ` +
      `+ 120 s (loading, fingerprinting) = ${Math.ceil(seconds)} s → ${shardMinutes} min (at least 10)`,
  );
  const mergeSeconds = (sums * o.shards) / (200 * MiB) + 120;
  // The float64 eigendecompositions run on one core: every A (in × in) and S (out × out) of every linear.
  const cubes = inOut.reduce((a, [i, out]) => a + i ** 3 + out ** 3, 0) * m.layers;
  const eigenSeconds = cubes / EIGEN_CUBES_PER_SECOND + 120;
  const singleMinutes = Math.max(10, Math.ceil(Math.max(mergeSeconds, eigenSeconds) / 60));
  lines.push(`time of a merge = ${o.shards} shards × ${mib(sums)} MiB read at 200 MiB/s + 120 s = ${Math.ceil(mergeSeconds)} s`);
  lines.push(
    `time of the eigendecomposition = Σ n³ over the ${linears * 2} factors (${cubes.toExponential(2)}) ÷ 1.2e8 per second (one core, measured) + 120 s = ${Math.ceil(eigenSeconds)} s; ` +
      `the longer of the two → ${singleMinutes} min for every single job (at least 10)`,
  );
  return { shardMemoryMiB: mib(shardBytes), mergeMemoryMiB: mib(mergeBytes), shardMinutes, singleMinutes, tokensPerSecond: tps, lines };
}
