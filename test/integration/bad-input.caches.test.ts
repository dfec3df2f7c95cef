/**
 * Tampered or damaged caches (factors, shards, results, index): every field a consumer computes with is
 * covered by a checksum, so an edit is refused naming the file instead of silently changing scores;
 * merges verify every part; nothing valid-looking is written on a refusal; good input then works.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SKIP_NO_SHARED } from '../helpers/fixtures';
import { assertRefused, editJson, FAST, fitTiny, modelArgs, runBounded, scoreTiny, sha256, writeCorpus, writeQueries } from '../helpers/badInput';
import { readResults } from '../../server/src/engine/results/io';
import { listShards, readManifest, readShard, writeShard } from '../../server/src/engine/ekfac/store';

let dir: string;
let corpus: string;
let queries: string;
let factors: string;
let baseline: Float32Array;

before(async () => {
  if (SKIP_NO_SHARED) return;
  dir = mkdtempSync(join(tmpdir(), 'il-bad-caches-'));
  corpus = writeCorpus(dir, 8);
  queries = writeQueries(dir, [
    { id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.', answer: 'Lily', kind: 'factual' },
    { id: 'park', prompt: 'One day, Tom went to the', completion: ' park.', kind: 'reasoning' },
  ]);
  factors = join(dir, 'factors');
  await fitTiny(corpus, factors);
  const out = join(dir, 'baseline');
  assert.equal((await scoreTiny(corpus, factors, queries, out)).code, 0);
  baseline = readResults(out).scores;
});

after(() => dir && rmSync(dir, { recursive: true, force: true }));

/** Runs `edit` on a copy of the file, restores the original after `check`. */
async function withEdited(file: string, edit: () => void, check: () => Promise<void>): Promise<void> {
  const saved = readFileSync(file);
  edit();
  try {
    await check();
  } finally {
    writeFileSync(file, saved);
  }
}

test(
  'an edited factor manifest (Λ document count, maxLen, strategy) is refused naming it; restored, scores are as before',
  { skip: SKIP_NO_SHARED },
  async () => {
    const manifest = join(factors, 'manifest.json');
    const edits: [string, (m: Record<string, unknown>) => void][] = [
      ['Λ documents', (m) => ((m.stages as { lambda: { documents: number } }).lambda.documents *= 10)],
      ['maxLen', (m) => ((m.settings as { maxLen: number }).maxLen = 24)],
      ['strategy', (m) => ((m.settings as { strategy: string }).strategy = 'diagonal')],
    ];
    for (const [what, edit] of edits) {
      const out = join(dir, `edited-${what.replace(/\W/g, '')}`);
      await withEdited(
        manifest,
        () => editJson(manifest, edit),
        async () => {
          const r = await scoreTiny(corpus, factors, queries, out);
          assertRefused(r, 1, manifest, 'does not match its metadata checksum');
          assert.ok(!existsSync(join(out, 'results.json')), `${what}: no results written`);
        },
      );
    }
    const out = join(dir, 'restored');
    assert.equal((await scoreTiny(corpus, factors, queries, out)).code, 0);
    assert.deepEqual(readResults(out).scores, baseline);
  },
);

test('factors written before manifests had checksums are refused with what to do', { skip: SKIP_NO_SHARED }, async () => {
  const manifest = join(factors, 'manifest.json');
  await withEdited(
    manifest,
    () =>
      editJson(manifest, (m) => {
        m.version = 1;
        delete m.metadataSha256;
      }),
    async () => {
      const r = await scoreTiny(corpus, factors, queries, join(dir, 'old'));
      assertRefused(r, 1, manifest, 'older influence-lens', 'run fit again');
    },
  );
});

test('analyze refuses a results.json with an edited nllNats; scores.f32 and old results are refused too', { skip: SKIP_NO_SHARED }, async () => {
  const results = join(dir, 'to-analyze');
  assert.equal((await scoreTiny(corpus, factors, queries, results)).code, 0);
  const json = join(results, 'results.json');
  await withEdited(
    json,
    () => editJson(json, (r) => ((r.queries as { nllNats: number }[])[0].nllNats = 0.001)),
    async () => {
      const r = await runBounded(['analyze', '--results', results, '--permutations', '10']);
      assertRefused(r, 1, json, 'metadata checksum');
      assert.ok(!existsSync(join(results, 'analysis.json')), 'no analysis written');
    },
  );
  await withEdited(
    json,
    () => editJson(json, (r) => (r.version = 1)),
    async () => {
      assertRefused(await runBounded(['analyze', '--results', results]), 1, json, 'run score again');
    },
  );
  const scores = join(results, 'scores.f32');
  await withEdited(
    scores,
    () => writeFileSync(scores, Buffer.from(readFileSync(scores).map((b, i) => (i === 5 ? b ^ 0x40 : b)))),
    async () => {
      assertRefused(await runBounded(['analyze', '--results', results]), 1, scores, 'does not match its hash');
    },
  );
  const ok = await runBounded(['analyze', '--results', results, '--permutations', '10', '--quiet']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(existsSync(join(results, 'analysis.json')));
});

test('merge --factors verifies every shard: a flipped bit, an edited record and overflowing sums are refused', { skip: SKIP_NO_SHARED }, async () => {
  const sharded = join(dir, 'sharded');
  const shard = (i: number) => fitTiny(corpus, sharded, ['--shard', `${i}/2`]);
  await shard(0);
  await shard(1);
  const [, second] = listShards(sharded, 'covariance');
  const data = join(sharded, 'shards', second.file);
  const record = join(sharded, 'shards', second.file.replace('.safetensors', '.json'));

  // One flipped bit in the data of shard 1/2 (it used to merge into covariances of 1e38, exit 0).
  await withEdited(
    data,
    () => {
      const bytes = readFileSync(data);
      bytes[bytes.length - 3] ^= 0x40;
      writeFileSync(data, bytes);
    },
    async () => {
      assertRefused(await runBounded(['merge', '--factors', sharded]), 1, data, 'does not match the hash in its record');
      assert.equal(readManifest(sharded)?.stages.covariance, undefined, 'nothing merged');
    },
  );
  await withEdited(
    record,
    () => editJson(record, (r) => ((r.documents as number) += 1)),
    async () => {
      assertRefused(await runBounded(['merge', '--factors', sharded]), 1, record, 'metadata checksum');
    },
  );

  // Sums that overflow float32: both shards rewritten (hashes and all) with values near its maximum.
  const copies = listShards(sharded, 'covariance').map((r) => ({
    r,
    json: join(sharded, 'shards', r.file.replace('.safetensors', '.json')),
    st: join(sharded, 'shards', r.file),
  }));
  const saved = copies.map((c) => [readFileSync(c.json), readFileSync(c.st)] as const);
  const manifest = readManifest(sharded)!;
  for (const c of copies) {
    const tensors = await readShard(sharded, c.r);
    tensors.values().next().value!.data.fill(3e38);
    await writeShard(sharded, manifest, c.r, tensors);
  }
  const overflow = await runBounded(['merge', '--factors', sharded]);
  assertRefused(overflow, 1, 'Infinity');
  assert.equal(readManifest(sharded)?.stages.covariance, undefined, 'nothing merged');
  copies.forEach((c, i) => (writeFileSync(c.json, saved[i][0]), writeFileSync(c.st, saved[i][1])));

  // The intact shards merge, and the fit goes on to the next stage.
  const merged = await runBounded(['merge', '--factors', sharded]);
  assert.equal(merged.code, 0, merged.stderr);
  assert.ok(readManifest(sharded)?.stages.covariance);
});

test('an edited index manifest is refused naming it; the intact index scores', { skip: SKIP_NO_SHARED }, async () => {
  const index = join(dir, 'index');
  const built = await runBounded(['index', ...modelArgs(), '--corpus', corpus, '--factors', factors, '--out', index, ...FAST]);
  assert.equal(built.code, 0, built.stderr);
  const manifest = join(index, 'manifest.json');
  const viaIndex = (out: string) => scoreTiny(corpus, factors, queries, out, ['--index', index]);
  const copy = join(dir, 'index-manifest.json');
  copyFileSync(manifest, copy);
  for (const edit of [
    (m: Record<string, unknown>) => ((m.modules as { kS: number }[])[0].kS += 1),
    (m: Record<string, unknown>) => ((m.sketch as { size: string }).size = '32x32'),
  ]) {
    const out = join(dir, 'index-scored-bad');
    await withEdited(
      manifest,
      () => editJson(manifest, edit),
      async () => {
        assertRefused(await viaIndex(out), 1, manifest, 'metadata checksum');
        assert.ok(!existsSync(join(out, 'results.json')));
      },
    );
  }
  assert.equal(sha256(manifest), sha256(copy));
  const ok = await viaIndex(join(dir, 'index-scored'));
  assert.equal(ok.code, 0, ok.stderr);
});
