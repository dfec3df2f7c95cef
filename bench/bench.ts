/**
 * `npm run bench`: speed figures as JSON on stdout (progress on stderr). Figures, not pass/fail:
 * record them in notes with the machine and backend. `-- --backends` lists the backends that initialise here.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { BACKEND_NAMES, initBackend, type BackendName } from '../server/src/engine/device/backend';
import { benchCaptures, type CaptureFigure } from './captures';
import { openStories260K, tinyStoriesSequences } from './fixtures';
import { benchEkfac } from './ekfac';
import { benchFamilies, FAMILY_DEFAULTS } from './families';
import { benchDemoIndex } from './index';
import { benchHover } from './hover';
import { benchReport } from './report';

const log = (s: string) => process.stderr.write(`bench: ${s}\n`);

/** Which backends initialise here (tfjs-node only where it is installed), and whether each runs on a software adapter. */
async function availableBackends(): Promise<{ name: BackendName; software: boolean }[]> {
  const out: { name: BackendName; software: boolean }[] = [];
  for (const name of BACKEND_NAMES) {
    try {
      const info = await initBackend(name);
      out.push({ name, software: info.adapter?.software === true });
    } catch (e) {
      log(`${name}: unavailable (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return out;
}

async function main() {
  if (process.argv.includes('--backends')) {
    // `npm run bench -- --backends`: which backends initialise here, one after another as the benchmark tries them.
    process.stdout.write(JSON.stringify({ backends: (await availableBackends()).map((b) => b.name) }) + '\n');
    return;
  }
  const m = await openStories260K();
  const all = tinyStoriesSequences(m, 256);
  const backends = await availableBackends();
  const captures: CaptureFigure[] = [];
  for (const { name: backend, software } of backends) {
    // The plain JS cpu backend and WebGPU on a CPU (lavapipe) are far slower than wasm: timed on fewer documents.
    if (software) log(`${backend} runs on a software adapter: its figure says nothing of a GPU`);
    const docs = backend === 'cpu' || software ? all.slice(0, 8) : all.slice(0, 200);
    const workerCounts = backend === 'wasm' || backend === 'cpu' ? [1, 2] : [0];
    for (const workers of workerCounts) captures.push(await benchCaptures(m, docs, backend, workers, 8, log));
  }
  // Per family (llama, gpt_neox, qwen2 at ~10M parameters), on wasm as a CPU-only user runs.
  const families = await benchFamilies({ backend: 'wasm', workers: 2, ...FAMILY_DEFAULTS }, log);
  const { ekfac, index } = await benchEkfac(2, 256, log);
  const report = {
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version },
    model: { name: 'stories260K', ...m.checkpoint.config },
    corpus: { name: 'tinystories valid-head', maxLen: 256 },
    captures,
    families,
    ekfac,
    index: { ...index, demo: await benchDemoIndex(2, log) },
    hover: await benchHover(log),
    report: await benchReport(log),
    peakRssMiB: +(process.resourceUsage().maxRSS / 1024).toFixed(1),
  };
  const json = JSON.stringify(report, null, 2) + '\n';
  process.stdout.write(json);
  // Also on disk: `npm run bench` prints npm's own banner on stdout before the JSON.
  mkdirSync('.bench', { recursive: true });
  writeFileSync(join('.bench', 'latest.json'), json);
  log('figures also written to .bench/latest.json');
}

main().catch((e) => {
  process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : e}\n`);
  process.exit(1);
});
