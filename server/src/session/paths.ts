/**
 * Where the server keeps what it writes for the user (fitted caches, the demo corpus, batch results):
 * the editor's storage folder when it gives one, else ~/.cache/influence-lens. The one home of that default.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** The cache folder used when the editor gives no storage folder (read at call time: HOME may change in tests). */
export function defaultStorageDir(): string {
  return join(homedir(), '.cache', 'influence-lens');
}

/** The root every server-written artefact lives under. */
export function storageRoot(storageDir: string | undefined): string {
  return storageDir ?? defaultStorageDir();
}
