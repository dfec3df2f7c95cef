/**
 * Where a pass's time goes, on one compute thread (wasm): the capture pass alone (forward + backward),
 * then the covariance, Λ and per-token scoring passes, each over the same documents batched in input order
 * and by length (runBatched's bucketing). Per pass: tokens/s, padding, and from tfjs's kernel profile the
 * time per kind of kernel, the matrix products' FLOPs and the fraction of the measured 2-D matMul roofline
 * they reach; the rest of the wall time is dispatch (JavaScript between kernels) and readback.
 * Usage: npm run bench:profile -- [--model demo|stories260K] [--docs N] [--batch B]   (docs/PERFORMANCE.md)
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chooseBackend } from '../server/src/engine/device/backend';
import { readback, type Readback } from '../server/src/engine/device/readback';
import { withDeviceCaptures, type DeviceCaptures } from '../server/src/engine/capture/deviceCaptures';
import { covarianceSums, ekfacLambdaSums } from '../server/src/engine/ekfac/reductions';
import { openModel, type OpenedModel } from '../server/src/engine/model/openModel';
import { TfModel } from '../server/src/engine/model/tfModel';
import { tokenScores } from '../server/src/engine/score/reductions';
import { bmmKernelCounters } from '../server/src/engine/model/kernel/bmmKernel';
import { tf, type Tensor2D } from '../server/src/engine/tf';
import { startedAs } from './entry';
import { sharedFixtures, tinyStoriesSequences } from './fixtures';

type Reduce = (c: DeviceCaptures) => Readback<unknown>;

interface KernelShare {
  ms: number;
  calls: number;
}

export interface PassProfile {
  pass: string;
  order: 'input' | 'by length';
  tokens: number;
  paddedTokens: number;
  seconds: number;
  tokensPerSecond: number;
  /** Time per kernel kind (ms over the profiled batches), products split by size. */
  kernels: Record<string, KernelShare>;
  /** Matrix-product FLOPs per real token (padding's included), and the rate the whole pass reaches on them. */
  matmulFlopsPerToken: number;
  matmulGflops: number;
  fractionOfRoofline: number;
  /** The same, counting only the products' work on real tokens: what padding costs shows here. */
  usefulFractionOfRoofline: number;
  /** Wall time not spent inside kernels (dispatch, tensor bookkeeping, readback), as a fraction. */
  outsideKernels: number;
}

const ROOT = join(__dirname, '..');

function demoSequences(m: OpenedModel, count: number): number[][] {
  const lines = readFileSync(join(ROOT, 'demo', 'data', 'corpus.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(0, count);
  const bos = m.tokenizer.bosId >= 0 ? m.tokenizer.bosId : m.checkpoint.config.bosId;
  return lines.map((l) => [bos, ...m.tokenizer.encode((JSON.parse(l) as { text: string }).text)].slice(0, 256));
}

async function openProfiled(name: string): Promise<{ m: OpenedModel; sequences: (count: number) => number[][] }> {
  if (name === 'demo') {
    const m = await openModel(join(ROOT, 'demo', 'model'));
    return { m, sequences: (n) => demoSequences(m, n) };
  }
  const dir = join(sharedFixtures(), 'stories260K');
  const m = await openModel(join(dir, 'stories260K.bin'), join(dir, 'tok512.bin'));
  return { m, sequences: (n) => tinyStoriesSequences(m, 256).slice(0, n) };
}

/** The 2-D matMul rate on this thread for the model's largest linear, [1024 × in] · [in × out]. */
async function rooflineGflops(inDim: number, outDim: number): Promise<number> {
  const x = tf.randomNormal([1024, inDim]);
  const w = tf.randomNormal([inDim, outDim]);
  for (let i = 0; i < 3; i++) tf.matMul(x, w).dispose();
  const reps = 30;
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const y = tf.matMul(x, w);
    y.dataSync();
    y.dispose();
  }
  const ms = (performance.now() - t0) / reps;
  tf.dispose([x, w]);
  return (2 * 1024 * inDim * outDim) / ms / 1e6;
}

function batches(sequences: number[][], size: number, byLength: boolean): number[][][] {
  const order = sequences.map((_, i) => i);
  if (byLength) order.sort((x, y) => sequences[x].length - sequences[y].length || x - y);
  const out: number[][][] = [];
  for (let i = 0; i < order.length; i += size) out.push(order.slice(i, i + size).map((j) => sequences[j]));
  return out;
}

function kernelKind(name: string, shapes: number[][]): string {
  if (name === 'BatchMatMul') {
    const [[M, K], [, N]] = shapes;
    return Math.min(M, K, N) >= 64 ? 'matMul (large, e.g. linears, Gram matrices)' : 'matMul (small, e.g. attention heads)';
  }
  if (['Identity', 'Reshape', 'Concat', 'Transpose', 'Slice', 'Tile', 'Cast'].includes(name))
    return 'copies (Identity, Reshape, Concat, Transpose, Slice, Tile, Cast)';
  if (['Exp', 'Softmax', 'Max', 'OneHot', 'GatherV2', 'Log'].includes(name)) return 'softmax, loss, embedding';
  return 'elementwise and reductions';
}

const KERNEL_KIND = 'matMul (batched, our wasm kernel)';

async function profilePass(
  model: TfModel,
  pass: string,
  reduce: Reduce,
  sequences: number[][],
  size: number,
  byLength: boolean,
  roofline: number,
): Promise<PassProfile> {
  const options = { labels: 'actual' as const, seed: 0 };
  const all = batches(sequences, size, byLength).map((b) => b.map((tokens) => ({ tokens })));
  for (const b of all.slice(0, 2)) await withDeviceCaptures(model, b, options, reduce); // warm-up: kernels, caches
  let tokens = 0;
  let paddedTokens = 0;
  const t0 = performance.now();
  for (const b of all) {
    await withDeviceCaptures(model, b, options, reduce);
    tokens += b.reduce((n, s) => n + s.tokens.length, 0);
    paddedTokens += b.length * Math.max(...b.map((s) => s.tokens.length));
  }
  const seconds = (performance.now() - t0) / 1000;
  // The profile itself slows dispatch: only kernel times and FLOPs are taken from it, over every batch.
  const kernels: Record<string, KernelShare> = {};
  let kernelMs = 0;
  let flops = 0;
  for (const b of all) {
    const before = { ...bmmKernelCounters };
    const p = await tf.profile(async () => void (await withDeviceCaptures(model, b, options, reduce)));
    // Batched products in our own kernel (model/kernel/bmm.wat) are invisible to tf.profile: counted from its counters.
    kernels[KERNEL_KIND] ??= { ms: 0, calls: 0 };
    kernels[KERNEL_KIND].ms += bmmKernelCounters.ms - before.ms;
    kernels[KERNEL_KIND].calls += bmmKernelCounters.calls - before.calls;
    kernelMs += bmmKernelCounters.ms - before.ms;
    flops += bmmKernelCounters.flops - before.flops;
    for (const k of p.kernels) {
      // Custom-gradient wrappers ('forward', '…__op') time the kernels they contain, already counted.
      if (k.name === 'forward' || k.name.endsWith('__op')) continue;
      const ms = (await k.kernelTimeMs) as number;
      const shapes = k.inputShapes as number[][];
      const kind = kernelKind(k.name, shapes);
      kernels[kind] ??= { ms: 0, calls: 0 };
      kernels[kind].ms += ms;
      kernels[kind].calls++;
      kernelMs += ms;
      if (k.name === 'BatchMatMul') flops += 2 * shapes[0][0] * shapes[0][1] * shapes[1][1];
    }
  }
  for (const share of Object.values(kernels)) share.ms = Math.round(share.ms);
  const matmulGflops = flops / seconds / 1e9;
  return {
    pass,
    order: byLength ? 'by length' : 'input',
    tokens,
    paddedTokens,
    seconds: Number(seconds.toFixed(2)),
    tokensPerSecond: Math.round(tokens / seconds),
    kernels,
    matmulFlopsPerToken: Math.round(flops / tokens),
    matmulGflops: Number(matmulGflops.toFixed(2)),
    fractionOfRoofline: Number((matmulGflops / roofline).toFixed(3)),
    usefulFractionOfRoofline: Number(((matmulGflops / roofline) * (tokens / paddedTokens)).toFixed(3)),
    outsideKernels: Number(Math.max(0, 1 - kernelMs / 1000 / seconds).toFixed(3)),
  };
}

export async function profileModel(name: string, docs: number, size: number, log: (s: string) => void) {
  const { m, sequences } = await openProfiled(name);
  const model = new TfModel(m.checkpoint);
  try {
    const t0 = performance.now();
    const seqs = sequences(docs);
    const tokenizeMs = performance.now() - t0; // reading and tokenising, for comparison with the passes
    const widest = model.tracked.reduce((a, t) => (t.inDim * t.outDim > a.inDim * a.outDim ? t : a));
    // The best of three (a busy machine only lowers it).
    let roofline = 0;
    for (let i = 0; i < 3; i++) roofline = Math.max(roofline, await rooflineGflops(widest.inDim, widest.outDim));
    log(
      `${name}: ${seqs.length} documents, ${seqs.reduce((n, s) => n + s.length, 0)} tokens; 2-D matMul roofline ${roofline.toFixed(1)} GFLOP/s on one thread`,
    );
    // Random stand-ins for the eigenbases and the query: the passes cost the same whatever they hold.
    const bases = new Map(
      model.tracked.map((t) => [
        t.name,
        {
          QA: tf.keep(tf.randomNormal([t.inDim + (t.bias ? 1 : 0), t.inDim + (t.bias ? 1 : 0)])) as Tensor2D,
          QS: tf.keep(tf.randomNormal([t.outDim, t.outDim])) as Tensor2D,
        },
      ]),
    );
    const P = new Map(model.tracked.map((t) => [t.name, tf.keep(tf.randomNormal([t.inDim + (t.bias ? 1 : 0), t.outDim])) as Tensor2D]));
    const passes: [string, Reduce][] = [
      ['capture (forward + backward)', (c) => readback([c.tokenLosses], ([x]) => x)],
      ['covariance', covarianceSums],
      ['lambda', (c) => ekfacLambdaSums(c, bases)],
      ['per-token scores', (c) => readback([tokenScores(c, P)], ([x]) => x)],
    ];
    const figures: PassProfile[] = [];
    for (const [pass, reduce] of passes) {
      for (const byLength of [false, true]) {
        const f = await profilePass(model, pass, reduce, seqs, size, byLength, roofline);
        log(
          `  ${pass}, ${f.order}: ${f.tokensPerSecond} tokens/s, ${((100 * f.tokens) / f.paddedTokens).toFixed(0)}% of padded positions real, products at ${(100 * f.fractionOfRoofline).toFixed(0)}% of the roofline (${(100 * f.usefulFractionOfRoofline).toFixed(0)}% on real tokens), ${(100 * f.outsideKernels).toFixed(0)}% outside kernels`,
        );
        figures.push(f);
      }
    }
    tf.dispose([...[...bases.values()].flatMap((b) => [b.QA, b.QS]), ...P.values()]);
    return {
      model: name,
      documents: seqs.length,
      batchSize: size,
      tokenizeMs: Math.round(tokenizeMs),
      rooflineGflops: Number(roofline.toFixed(2)),
      passes: figures,
    };
  } finally {
    model.dispose();
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const arg = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const models = arg('--model') ? [arg('--model')!] : ['demo', 'stories260K'];
  const docs = Number(arg('--docs') ?? 160);
  const size = Number(arg('--batch') ?? 8);
  const backend = await chooseBackend('wasm');
  const log = (s: string) => process.stderr.write(s + '\n');
  log(`backend ${backend.name} (${backend.reason}); one thread, batches of ${size}`);
  const results = [];
  for (const name of models) results.push(await profileModel(name, docs, size, log));
  process.stdout.write(JSON.stringify({ backend: backend.name, profiles: results }, null, 2) + '\n');
}

if (startedAs('profile')) {
  main().catch((e) => {
    process.stderr.write(`${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  });
}
