/**
 * `fit` then `score` through the CLI on a small random checkpoint of every family in its exact Hugging
 * Face layout (with the real GPT-2 tokenizer, the vocabulary padded as Pythia's is): factors name the
 * family's own MLP linears, every document gets a finite score and a positive self-influence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults } from '../../server/src/engine/results/io';
import { FAMILY_CONFIGS, randomHfTensors, writeHfCheckpoint } from '../helpers/hfCheckpoint';
import { writeGpt2TokenizerJson } from '../helpers/gpt2Tokenizer';
import { runBounded, scratch, writeCorpus, writeQueries } from '../helpers/badInput';
import { SKIP_NO_SHARED } from '../helpers/fixtures';

/** 16 tokens per document: within Mistral's sliding window of 24 (longer is refused). */
const FAST = ['--workers', '1', '--max-len', '16', '--quiet'];

const EXPECTED_MODULES: Record<string, string[]> = { gpt_neox: ['dense_h_to_4h', 'dense_4h_to_h'] };

for (const [name, base] of Object.entries(FAMILY_CONFIGS)) {
  test(`${name}: fit and score from its Hugging Face folder`, { skip: SKIP_NO_SHARED, timeout: 300_000 }, async (t) => {
    const dir = scratch(t, 'il-family-');
    const cfg: Record<string, unknown> = { ...base, vocab_size: 50304, bos_token_id: 50256, eos_token_id: 50256 };
    const model = join(dir, 'model');
    writeHfCheckpoint(model, cfg, randomHfTensors(cfg, 21));
    writeGpt2TokenizerJson(model);
    const corpus = writeCorpus(dir, 10);
    const factors = join(dir, 'factors');
    const fit = await runBounded(['fit', '--model', model, '--corpus', corpus, '--out', factors, ...FAST]);
    assert.equal(fit.code, 0, fit.stderr);
    const manifest = JSON.parse(readFileSync(join(factors, 'manifest.json'), 'utf8')) as { settings: { modules: string[] } };
    const perLayer = (EXPECTED_MODULES[name] ?? ['gate', 'up', 'down']).length;
    assert.equal(manifest.settings.modules.length, perLayer * (cfg.num_hidden_layers as number));
    assert.deepEqual(
      manifest.settings.modules.slice(0, perLayer),
      (EXPECTED_MODULES[name] ?? ['gate', 'up', 'down']).map((m) => `layers.0.mlp.${m}`),
    );
    const out = join(dir, 'results');
    const score = await runBounded([
      'score',
      '--model',
      model,
      '--corpus',
      corpus,
      '--factors',
      factors,
      '--queries',
      writeQueries(dir),
      '--out',
      out,
      '--self',
      '--workers',
      '1',
      '--quiet',
    ]);
    assert.equal(score.code, 0, score.stderr);
    const r = readResults(out);
    assert.equal(r.results.documents.length, 10);
    assert.equal(r.scores.length, 10);
    assert.ok(r.scores.every(Number.isFinite), 'finite scores');
    assert.ok(r.self && r.self.every((x) => x > 0), 'self-influence is positive');
  });
}
