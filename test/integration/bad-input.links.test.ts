/**
 * Paths that lead to system files through a symbolic link (a results.json or a query file linked to
 * /etc/passwd, standing in for /etc/shadow or /proc/self/environ): refused with a sentence that names
 * the path and never shows the file's first bytes (V8's JSON errors quote them), nothing written; the
 * same command on good input then succeeds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { assertRefused, runBounded, scratch } from '../helpers/badInput';
import { makeResultsFixture } from '../helpers/reportFixture';

const SYSTEM_FILE = '/etc/passwd';
/** The first bytes of the system file, which no message may show. */
const firstBytes = () => readFileSync(SYSTEM_FILE, 'utf8').slice(0, 6);

test(
  'a results.json linked to a system file: exit 1 naming it, none of its bytes shown, no analysis.json; a good folder then analyses',
  { skip: !existsSync(SYSTEM_FILE) && `${SYSTEM_FILE} is absent` },
  async (t) => {
    const dir = scratch(t, 'il-bad-links-');
    const linked = join(dir, 'linked');
    mkdirSync(linked);
    symlinkSync(SYSTEM_FILE, join(linked, 'results.json'));
    const r = await runBounded(['analyze', '--results', linked]);
    assertRefused(r, 1, join(linked, 'results.json'), 'malformed JSON');
    assert.ok(!r.stderr.includes(firstBytes()) && !r.stdout.includes(firstBytes()), `the file's bytes were shown: ${r.stderr}`);
    assert.ok(!existsSync(join(linked, 'analysis.json')));

    const good = await makeResultsFixture(join(dir, 'good'));
    const ok = await runBounded(['analyze', '--results', good.results, '--permutations', '20']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(existsSync(join(good.results, 'analysis.json')));
  },
);
