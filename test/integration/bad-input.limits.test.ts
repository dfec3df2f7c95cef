/**
 * Usage errors and resource limits: every usage error exits 2 with the CLI's own sentence (negative
 * numbers after a space included), --workers is capped at the machine's available parallelism, and a
 * damping so large that every score would underflow to 0 is refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { assertRefused, fitTiny, modelArgs, runBounded, scoreTiny, scratch, writeCorpus, writeQueries } from '../helpers/badInput';
import { readResults } from '../../server/src/engine/results/io';

test('every usage error exits 2 with our own sentence, before any model is opened', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  const corpus = writeCorpus(dir, 4);
  const fit = (...more: string[]) => ['fit', ...modelArgs(), '--corpus', corpus, '--out', `${dir}/f`, ...more];
  const cases: [string[], string][] = [
    [['generate', ...modelArgs(), '--max-tokens', '-5'], '--max-tokens must be an integer ≥ 1, got "-5"'],
    [
      ['score', ...modelArgs(), '--damping', '-1e-3', '--corpus', corpus, '--factors', dir, '--queries', corpus, '--out', `${dir}/r`],
      '--damping must be a non-negative number, got "-1e-3"',
    ],
    [['generate', ...modelArgs(), '--max-tokens'], '--max-tokens needs a value'],
    [fit('--out', '--quiet'), '--out needs a value (a value that starts with "-" is written --out=VALUE)'],
    [['generate', ...modelArgs(), '--frobnicate', '3'], 'unknown option --frobnicate'],
    [['generate', ...modelArgs(), 'extra'], 'unexpected argument "extra"'],
    [['generate', ...modelArgs(), '--quiet=yes'], '--quiet takes no value'],
    [fit('--shard', '3/2'), '--shard must be i/n with 0 ≤ i < n, got "3/2"'],
    [fit('--strategy', 'magic'), '--strategy must be one of'],
    [fit('--backend', 'tpu'), 'unknown backend "tpu"'],
    [fit('--modules', 'layers.0.mlp.nope'), 'unknown module(s) layers.0.mlp.nope'],
    [['index', ...modelArgs(), '--corpus', corpus, '--factors', dir, '--out', `${dir}/i`, '--sketch', 'eigen:0x8'], '--sketch "eigen:0x8": eigen takes kSxkA'],
    [['merge'], 'merge needs one of'],
  ];
  for (const [args, says] of cases) {
    const r = await runBounded(args);
    assertRefused(r, 2, says);
    assert.doesNotMatch(r.stderr, /ambiguous|positional|-XYZ/, `the parser's own text: ${r.stderr}`);
  }
});

test('--workers 1000 is capped at the available parallelism, says so, and runs', { skip: SKIP_NO_SHARED }, async () => {
  const r = await runBounded(['loss', ...modelArgs(), '--text', 'Lily had a red ball.', '--workers', '1000', '--backend', 'wasm']);
  assert.equal(r.code, 0, r.stderr);
  const cores = availableParallelism();
  assert.match(r.stderr, new RegExp(`--workers 1000 capped at ${cores}, this machine's available parallelism`));
  assert.match(r.stderr, new RegExp(`${cores} compute thread\\(s\\)`));
  assert.ok((JSON.parse(r.stdout) as { sumNats: number }).sumNats > 0);
});

test('--damping 1e300 (every score 0, no warning) is refused before any work; a usable damping scores', { skip: SKIP_NO_SHARED }, async (t) => {
  const dir = scratch(t);
  const corpus = writeCorpus(dir, 6);
  const queries = writeQueries(dir);
  const factors = join(dir, 'factors');
  await fitTiny(corpus, factors, ['--strategy', 'kfac']);
  const out = join(dir, 'results');
  for (const damping of ['1e300', '1e21']) {
    const r = await scoreTiny(corpus, factors, queries, out, ['--damping', damping]);
    assertRefused(r, 2, `--damping ${Number(damping)} is above 1e20`, 'every score would be 0');
    assert.doesNotMatch(r.stderr, /backend |query gradients/, 'before the model is opened');
    assert.ok(!existsSync(out), 'no results folder is left');
  }
  const index = await runBounded(['index', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--out', join(dir, 'index'), '--damping', '1e300']);
  assertRefused(index, 2, '--damping 1e+300');
  assert.ok(!existsSync(join(dir, 'index')));
  const ok = await scoreTiny(corpus, factors, queries, out, ['--damping', '1e3']);
  assert.equal(ok.code, 0, ok.stderr);
  const { scores } = readResults(out);
  assert.ok(
    scores.some((x) => x !== 0),
    'the scores are not all 0',
  );
});
