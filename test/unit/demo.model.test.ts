/** The committed demo model loads through the normal loader and reproduces its recorded held-out loss. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openComputePool } from '../../server/src/engine/compute/computePool';
import { openModel } from '../../server/src/engine/model/openModel';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../../demo/src/corpus/generate';
import { DEMO_MODEL, demoHeldOutLoss } from '../../demo/src/evaluate';

test('the demo model reproduces its recorded held-out loss', { timeout: 300_000 }, async (t) => {
  const m = await openModel(DEMO_MODEL);
  assert.equal(m.checkpoint.config.architecture, 'llama');
  const recorded = JSON.parse(readFileSync(join(DEMO_MODEL, 'training.json'), 'utf8')) as { heldOutLoss: number };
  const dir = mkdtempSync(join(tmpdir(), 'il-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
  const pool = await openComputePool(m.checkpoint, { backend: 'wasm', workers: 2 });
  try {
    const loss = await demoHeldOutLoss(pool, DEMO_MODEL, corpus);
    console.log(`# demo held-out loss ${loss.toFixed(5)} nats/token (recorded ${recorded.heldOutLoss.toFixed(5)})`);
    assert.ok(Math.abs(loss - recorded.heldOutLoss) / recorded.heldOutLoss < 1e-4, `${loss} vs ${recorded.heldOutLoss}`);
    assert.ok(loss < 1.5, 'the model has learned (a uniform model would be ln 1024 ≈ 6.9)');
  } finally {
    await pool.dispose();
  }
});
