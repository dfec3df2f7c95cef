/**
 * Backend conformance: the engine on WebGPU computes what it computes on wasm, to 1e-4 relative
 * (max |webgpu − wasm| / max |wasm| per check): forward logits and greedy tokens, per-token captures with
 * actual and sampled labels, an EK-FAC fit and its scores, per-token influence, an index build and one
 * index query.
 * In CI the adapter is Mesa's lavapipe (a software Vulkan, from scripts/gpu-setup.sh); any adapter will do.
 * Every test skips, saying why, where no WebGPU adapter can be had. Run with `npm run test:gpu`.
 */
import { test, before, after, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chooseBackend, describeBackend, type BackendName } from '../../server/src/engine/device/backend';
import { openComputePool, type ComputePool } from '../../server/src/engine/compute/computePool';
import { download, readback } from '../../server/src/engine/device/readback';
import type { CaptureResult, CaptureSequence } from '../../server/src/engine/capture/types';
import { loadFactors } from '../../server/src/engine/ekfac/load';
import { invalidateFrom, readManifest, readStage } from '../../server/src/engine/ekfac/store';
import { IndexQueryEngine } from '../../server/src/engine/gradindex/queryEngine';
import { IndexSearcher } from '../../server/src/engine/gradindex/search';
import { DEFAULT_SKETCH } from '../../server/src/engine/gradindex/sketch';
import { TokenScorer } from '../../server/src/engine/score/tokenScoring';
import { readDocuments, readManifest as readIndexManifest } from '../../server/src/engine/gradindex/store';
import { bosId, openModel, stopIds, type OpenedModel } from '../../server/src/engine/model/openModel';
import { TfModel } from '../../server/src/engine/model/tfModel';
import { tf } from '../../server/src/engine/tf';
import { relativeError } from '../helpers/compare';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { buildTestIndex } from '../helpers/gradientIndex';
import { fit, identityFor, score, tempDirs, writeJsonlCorpus, STORY_QUERIES, type Setup } from '../helpers/influence';

const TOLERANCE = 1e-4;
const QUERIES = STORY_QUERIES.slice(0, 3);

/** Why WebGPU cannot run here, or undefined when it can. */
let unavailable: string | undefined;
let model: OpenedModel;
let corpus: string;
const { tmp, cleanup } = tempDirs('il-webgpu-');

before(async () => {
  if (SKIP_NO_SHARED) return;
  try {
    const info = await chooseBackend('webgpu');
    console.log(`# ${describeBackend(info)}`);
  } catch (e) {
    unavailable =
      `no WebGPU adapter here: the software Vulkan adapter (Mesa >= 25's lavapipe) is unavailable or refused ` +
      `(${(e as Error).message}); scripts/gpu-setup.sh installs it as root on Debian 12`;
    console.log(`# skipping the WebGPU conformance suite: ${unavailable}`);
    return;
  }
  model = await openModel(STORIES260K(), TOK512());
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 12);
  corpus = writeJsonlCorpus(lines.map((l) => JSON.parse(l) as { text: string }));
});

after(cleanup);

/** Skips the test (with the reason) where WebGPU or the fixtures are missing. */
function skipped(t: TestContext): boolean {
  const reason = SKIP_NO_SHARED || unavailable;
  if (reason) t.skip(reason);
  return reason !== undefined;
}

function check(what: string, actual: ArrayLike<number>, expected: ArrayLike<number>): void {
  const err = relativeError(actual, expected);
  console.log(`# ${what}: max relative difference ${err.toExponential(2)}`);
  assert.ok(Number.isFinite(err) && err <= TOLERANCE, `${what}: relative difference ${err.toExponential(2)} > ${TOLERANCE}`);
}

const setup = (backend: BackendName): Setup => ({ model, corpus, settings: { maxLen: 64 }, workers: 0, backend });

/** Runs fn on a fresh in-thread pool of the backend (one backend at a time: tensors belong to one). */
async function onPool<T>(backend: BackendName, fn: (pool: ComputePool) => Promise<T>): Promise<T> {
  const pool = await openComputePool(model.checkpoint, { backend, workers: 0 });
  try {
    return await fn(pool);
  } finally {
    await pool.dispose();
  }
}

const SEQUENCES = (): CaptureSequence[] => {
  const enc = (s: string) => [bosId(model), ...model.tokenizer.encode(s)];
  const prompt = enc('Once upon a time, there was a little girl named');
  const full = enc('Once upon a time, there was a little girl named Lily. She liked to play in the park with her dog.');
  return [
    { tokens: full },
    { tokens: full.slice(0, 20), targets: full.slice(0, 20).map((_, j) => (j >= prompt.length ? 1 : 0)) },
    { tokens: enc('Tom had a red ball.') },
  ];
};

test('forward logits and greedy generation', async (t) => {
  if (skipped(t)) return;
  const run = async (backend: BackendName) => {
    await chooseBackend(backend);
    const m = new TfModel(model.checkpoint);
    try {
      const tokens = SEQUENCES()[0].tokens;
      const logits = tf.tidy(() => m.forward(tf.tensor2d(tokens, [1, tokens.length], 'int32')));
      const data = await download(readback([logits], ([d]) => d));
      return { logits: data };
    } finally {
      m.dispose();
    }
  };
  const gpu = await run('webgpu');
  const cpu = await run('wasm');
  check('forward logits', gpu.logits, cpu.logits);
  const generate = (backend: BackendName) =>
    onPool(backend, (pool) => pool.run({ kind: 'generate', prompt: SEQUENCES()[2].tokens, maxNewTokens: 12, stopIds: stopIds(model) }));
  assert.deepEqual(await generate('webgpu'), await generate('wasm'), 'greedy tokens differ');
});

test('per-token captures, actual and sampled labels', async (t) => {
  if (skipped(t)) return;
  for (const labels of ['actual', 'sampled'] as const) {
    const capture = (backend: BackendName) => onPool(backend, (pool) => pool.run({ kind: 'capture', sequences: SEQUENCES(), options: { labels, seed: 7 } }));
    const gpu: CaptureResult = await capture('webgpu');
    const cpu: CaptureResult = await capture('wasm');
    assert.deepEqual(gpu.labels, cpu.labels, `${labels} labels differ`);
    assert.deepEqual(gpu.tokenCounts, cpu.tokenCounts);
    check(`captures (${labels}) losses`, gpu.losses, cpu.losses);
    const worst = { a: 0, g: 0 };
    cpu.modules.forEach((m, i) => {
      for (const k of ['a', 'g'] as const) worst[k] = Math.max(worst[k], relativeError(gpu.modules[i][k], m[k]));
    });
    check(`captures (${labels}) a_t, worst module`, [worst.a], [0]);
    check(`captures (${labels}) g_t, worst module`, [worst.g], [0]);
  }
});

test('EK-FAC fit (covariances, eigenvalue correction) and scores', { timeout: 1_800_000 }, async (t) => {
  if (skipped(t)) return;
  const wasmDir = tmp();
  await fit(setup('wasm'), 'ekfac', wasmDir);
  const gpuDir = tmp();
  await fit(setup('webgpu'), 'ekfac', gpuDir);
  const cov = async (dir: string) => readStage(dir, readManifest(dir)!, 'covariance');
  const [covGpu, covCpu] = [await cov(gpuDir), await cov(wasmDir)];
  const worst = { A: 0, S: 0 };
  for (const [name, tensor] of covCpu)
    worst[name.endsWith('.A') ? 'A' : 'S'] = Math.max(worst[name.endsWith('.A') ? 'A' : 'S'], relativeError(covGpu.get(name)!.data, tensor.data));
  check('covariance A, worst module', [worst.A], [0]);
  check('covariance S, worst module', [worst.S], [0]);

  // Λ on the device in the very eigenbases wasm used (nearly equal eigenvalues make eigenvectors, not
  // the device, the sensitive part): wasm's covariance and eigen stages, the lambda stage redone on webgpu.
  const sameBases = tmp();
  cpSync(wasmDir, sameBases, { recursive: true });
  dropStage(sameBases, 'lambda');
  await fit(setup('webgpu'), 'ekfac', sameBases);
  const identity = await identityFor(setup('wasm'), 'ekfac');
  const [lGpu, lCpu] = [await loadFactors(sameBases, identity), await loadFactors(wasmDir, identity)];
  check('Λ (eigenvalue correction), worst module', [Math.max(...lCpu.modules.map((m, i) => relativeError(lGpu.modules[i].lambda!, m.lambda!)))], [0]);

  const scoresGpu = await score(setup('webgpu'), wasmDir, QUERIES, { selfInfluence: true });
  const scoresCpu = await score(setup('wasm'), wasmDir, QUERIES, { selfInfluence: true });
  check('pairwise scores', scoresGpu.scores, scoresCpu.scores);
  check('self-influence', scoresGpu.self!, scoresCpu.self!);

  // Per-token influence (a hover's exact rerank and snippets): the query kept on the device, documents in one batch.
  const perToken = (backend: BackendName) =>
    onPool(backend, async (pool) => {
      const scorer = await TokenScorer.create(pool, scoresCpu.factors, undefined, { priority: 'interactive' });
      const { loss, values } = await scorer.scoreFor(
        scoresCpu.queries[0],
        SEQUENCES().map((s) => ({ tokens: s.tokens })),
        { priority: 'interactive' },
      );
      return { loss, values: values.flatMap((v) => Array.from(v)) };
    });
  const [tokGpu, tokCpu] = [await perToken('webgpu'), await perToken('wasm')];
  check('per-token influence: query loss', [tokGpu.loss], [tokCpu.loss]);
  check('per-token influence', tokGpu.values, tokCpu.values);
});

test('index build and one index query', { timeout: 1_800_000 }, async (t) => {
  if (skipped(t)) return;
  const factorsDir = tmp();
  await fit(setup('wasm'), 'ekfac', factorsDir);
  // The default sketch (eigen) and each document's heaviest blocks: the same rows (int8 with per-row scales,
  // read back as stored) from both backends; then a query of the default index on each.
  const defaultIndex = tmp();
  for (const sketch of [DEFAULT_SKETCH, 'blocks:50%']) {
    const built = { webgpu: tmp(), wasm: sketch === DEFAULT_SKETCH ? defaultIndex : tmp() };
    for (const backend of ['webgpu', 'wasm'] as const) await buildTestIndex(setup(backend), factorsDir, built[backend], sketch);
    const rows = (dir: string) => readFileSync(join(dir, readIndexManifest(dir).chunks[0].file));
    assert.equal(readDocuments(built.webgpu, readIndexManifest(built.webgpu)).length, readDocuments(built.wasm, readIndexManifest(built.wasm)).length);
    const [a, b] = [rows(built.webgpu), rows(built.wasm)];
    let same = 0;
    for (let i = 0; i < b.length; i++) if (a[i] === b[i]) same++;
    console.log(`# index rows (${sketch}): ${((100 * same) / b.length).toFixed(2)}% of bytes identical`);
    assert.ok(same / b.length > 0.99, `${sketch}: index rows differ in more than 1% of their bytes`);
  }

  const identity = await identityFor(setup('wasm'), 'ekfac');
  const factors = await loadFactors(factorsDir, identity);
  const query = async (backend: BackendName) =>
    onPool(backend, async (pool) => {
      const searcher = await IndexSearcher.openOnPool(defaultIndex, { modelFingerprint: identity.model.fingerprint, factors }, pool);
      try {
        const engine = await IndexQueryEngine.create({
          pool,
          tokenizer: model.tokenizer,
          bos: bosId(model),
          stopIds: stopIds(model),
          factors,
          searcher,
          maxLen: 64,
        });
        return await engine.query({ prompt: QUERIES[0].prompt, completion: QUERIES[0].completion });
      } finally {
        await searcher.close();
      }
    });
  const [gpu, cpu] = [await query('webgpu'), await query('wasm')];
  check('index query: completion loss', [gpu.nllNats], [cpu.nllNats]);
  check('index query: scores', gpu.scores, cpu.scores);
});

/** Removes a completed stage from a factor folder, so that fit computes it again. */
function dropStage(dir: string, stage: 'lambda'): void {
  const manifest = readManifest(dir)!;
  rmSync(join(dir, manifest.stages[stage]!.file));
  invalidateFrom(dir, manifest, stage); // rewrites the manifest, sealed
}
