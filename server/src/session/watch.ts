/**
 * Watches the files the warm state was built from (model, corpus, factor and index folders) and calls back
 * once a burst of changes has settled. Each path is watched through its parent folder too, so a file deleted
 * and put back (a new inode) or created after an error is still seen; folders are watched for changes inside them.
 */
import { statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';

/** A burst of writes (a fit writing its stages, an editor saving) reloads once. */
const DEBOUNCE_MS = 500;

export class PathWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly onChange: () => void) {}

  /** Watches these paths (empty ones skipped) instead of the ones before. */
  watch(paths: readonly string[]): void {
    this.close();
    const names = new Map<string, Set<string>>(); // folder → the entries of interest ('' = any)
    const add = (dir: string, name: string) => names.set(dir, (names.get(dir) ?? new Set()).add(name));
    for (const p of paths) {
      if (!p) continue;
      add(dirname(p), basename(p));
      if (isFolder(p)) add(p, '');
    }
    for (const [dir, wanted] of names) {
      if (!isFolder(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (!wanted.has('') && name && !wanted.has(String(name))) return;
          clearTimeout(this.timer);
          this.timer = setTimeout(this.onChange, DEBOUNCE_MS);
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // not watchable (a special file system): changes are seen at the next settings change
      }
    }
  }

  /** Stops watching, and drops a change not yet reported. */
  close(): void {
    clearTimeout(this.timer);
    for (const w of this.watchers.splice(0)) w.close();
  }
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
