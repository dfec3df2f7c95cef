/**
 * The README link of hovers: found in the extension's folder, and a FIFO in the README's place (the
 * client names that folder) is skipped at once instead of blocking the language server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { scoreSectionLink } from '../../server/src/handlers/readme';

test('the README of the extension folder is linked at its section on scores; a FIFO README gives no link', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'il-readme-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const good = join(dir, 'good');
  const fifo = join(dir, 'fifo');
  for (const d of [good, fifo]) {
    execFileSync('mkdir', [d]);
    writeFileSync(join(d, 'package.json'), '{}');
  }
  writeFileSync(join(good, 'README.md'), '# Influence Lens\n\nintro\n\n## What a score means\n\ntext\n');
  execFileSync('mkfifo', [join(fifo, 'README.md')]);
  assert.equal(scoreSectionLink(good), `${pathToFileURL(join(good, 'README.md')).href}#L5`);
  // Without the check this read blocks for ever (nothing writes to the FIFO) and the test times out.
  assert.equal(scoreSectionLink(fifo), undefined);
});
