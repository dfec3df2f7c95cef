import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** ../shared/fixtures beside the checkout (CI has it), or undefined when absent. */
export const FIXTURES: string | undefined = (() => {
  const dir = resolve(__dirname, '..', '..', '..', 'shared', 'fixtures');
  return existsSync(dir) ? dir : undefined;
})();

export const SKIP_NO_SHARED = FIXTURES ? false : 'skipped: ../shared/fixtures is absent (CI has it)';

export function fixture(...parts: string[]): string {
  if (!FIXTURES) throw new Error('../shared/fixtures is absent');
  return join(FIXTURES, ...parts);
}

export const STORIES260K = () => fixture('stories260K', 'stories260K.bin');
export const TOK512 = () => fixture('stories260K', 'tok512.bin');
