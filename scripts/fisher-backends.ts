/**
 * How many sampled-Fisher labels differ between two tfjs backends for one seed (docs/RELIABILITY.md,
 * "Sampled Fisher across backends"): captures the fixture corpus with sampled labels on each backend,
 * counts the labels that differ, and for each says how far its threshold lay from a CDF boundary (a
 * fraction of the probability mass) and which backend the float64 inverse CDF of the first backend's
 * logits agrees with. The cpu backend is slow: 200 documents take about 5 minutes (shared 2-core machine).
 *
 *   npx tsx scripts/fisher-backends.ts [--docs 200] [--offset 0] [--seed 0] [--backends wasm,cpu]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend, parseBackendRequest } from '../server/src/engine/device/backend';
import { captureBatch } from '../server/src/engine/capture/captureBatch';
import { hostTargets } from '../server/src/engine/capture/targets';
import type { CaptureSequence } from '../server/src/engine/capture/types';
import { bosId, openModel } from '../server/src/engine/model/openModel';
import { TfModel } from '../server/src/engine/model/tfModel';
import { tf } from '../server/src/engine/tf';

const FIXTURES = join(__dirname, '..', '..', 'shared', 'fixtures');
const MAX_LEN = 128;
const BATCH = 8;

/** The label float64 inverse-CDF sampling gives for one row of logits, and the threshold's distance from the nearest boundary. */
function float64Sample(row: Float32Array, u: number): { label: number; margin: number } {
  let max = -Infinity;
  for (const x of row) max = Math.max(max, x);
  const p = Array.from(row, (x) => Math.exp(x - max));
  const total = p.reduce((a, b) => a + b, 0);
  const threshold = u * total;
  let label = -1;
  let margin = Infinity;
  let cum = 0;
  p.forEach((x, k) => {
    cum += x;
    if (label < 0 && cum > threshold) label = k;
    margin = Math.min(margin, Math.abs(cum - threshold) / total);
  });
  return { label: label < 0 ? row.length - 1 : label, margin };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { docs: { type: 'string' }, offset: { type: 'string' }, seed: { type: 'string' }, backends: { type: 'string' } } });
  const docs = Number(values.docs ?? 200);
  const offset = Number(values.offset ?? 0);
  const seed = Number(values.seed ?? 0);
  const backends = (values.backends ?? 'wasm,cpu').split(',').map(parseBackendRequest);
  const m = await openModel(join(FIXTURES, 'stories260K', 'stories260K.bin'), join(FIXTURES, 'stories260K', 'tok512.bin'));
  const lines = readFileSync(join(FIXTURES, 'tinystories', 'valid-head.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .slice(offset, offset + docs);
  const sequences: CaptureSequence[] = lines.map((l) => ({
    tokens: [bosId(m), ...m.tokenizer.encode((JSON.parse(l) as { text: string }).text)].slice(0, MAX_LEN),
  }));

  const labels: number[][][] = [];
  let logits: Float32Array[] = [];
  for (const [i, backend] of backends.entries()) {
    await initBackend(backend);
    const model = new TfModel(m.checkpoint);
    const started = Date.now();
    const got: number[][] = [];
    for (let s = 0; s < sequences.length; s += BATCH) {
      const batch = sequences.slice(s, s + BATCH);
      got.push(...(await captureBatch(model, batch, { labels: 'sampled', seed })).labels);
      if (i === 0)
        for (const q of batch) logits.push(tf.tidy(() => model.forward(tf.tensor2d(q.tokens, [1, q.tokens.length], 'int32')).dataSync() as Float32Array));
    }
    model.dispose();
    labels.push(got);
    console.log(`${backend}: ${sequences.length} sequences captured in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }

  const V = m.checkpoint.config.vocabSize;
  let targets = 0;
  const differences: { sequence: number; position: number; labels: number[]; float64: number; margin: number }[] = [];
  sequences.forEach((q, b) => {
    const uniforms = hostTargets([q], q.tokens.length, { labels: 'sampled', seed }).uniforms!;
    for (let t = 0; t + 1 < q.tokens.length; t++) {
      targets++;
      const mine = labels.map((l) => l[b][t]);
      if (mine.every((x) => x === mine[0])) continue;
      const { label, margin } = float64Sample(logits[b].subarray(t * V, (t + 1) * V), uniforms[t]);
      differences.push({ sequence: offset + b, position: t, labels: mine, float64: label, margin });
    }
  });
  logits = [];
  console.log(
    `${backends.join(' vs ')}, seed ${seed}: ${differences.length} of ${targets} sampled labels differ (${((100 * differences.length) / targets).toFixed(4)}%)`,
  );
  for (const d of differences) {
    console.log(
      `  document ${d.sequence} position ${d.position}: ${d.labels.join(' vs ')}; float64 of ${backends[0]}'s logits: ${d.float64}; threshold ${d.margin.toExponential(2)} of the mass from a boundary`,
    );
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
