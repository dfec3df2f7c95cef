import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { defaultStorageDir, storageRoot } from '../../server/src/session/paths';

test('server artefacts live in the editor storage folder, else in ~/.cache/influence-lens', () => {
  assert.equal(storageRoot('/srv/storage'), '/srv/storage');
  assert.equal(storageRoot(undefined), join(homedir(), '.cache', 'influence-lens'));
  assert.equal(defaultStorageDir(), join(homedir(), '.cache', 'influence-lens'));
});
