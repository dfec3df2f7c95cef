/**
 * `npm run bench -- --backends` (the built dist/bench.js): every backend that initialises is listed, and
 * wasm still initialises after WebGPU was probed in the same process — the benchmark once failed there
 * because a bundled standalone entry point (bench:scan) started beside it and raced it for the backend.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { REPO, runNode } from '../helpers/cli';

test('bench --backends: wasm and cpu initialise after every other backend was tried; nothing else starts', async () => {
  const r = await runNode(['--expose-gc', join(REPO, 'dist', 'bench.js'), '--backends'], {}, 120_000);
  assert.equal(r.code, 0, r.stderr);
  const { backends } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { backends: string[] };
  assert.ok(backends.includes('wasm') && backends.includes('cpu'), `backends: ${backends.join(', ')}`);
  assert.doesNotMatch(r.stderr, /failed|bench:scan|bench:hover/);
});
