/**
 * Where the README's "What a score means" section is, as a file link for hovers: the README ships with the
 * extension (extensionDir), beside dist/ in a build, two folders up from server/src when run from source.
 * The link's target is this extension's own file, never anything from the corpus or the editor.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FILE_LIMITS, readTextBounded, scoreSectionLine } from '../engine/api';

const cache = new Map<string, string | undefined>();

/** `file://…/README.md#L<n>` (the line VS Code opens it at), or undefined when no README is found. */
export function scoreSectionLink(extensionDir: string | undefined): string | undefined {
  const key = extensionDir ?? '';
  if (cache.has(key)) return cache.get(key);
  const dirs = [extensionDir, join(__dirname, '..'), join(__dirname, '..', '..', '..')].filter((d): d is string => d !== undefined);
  const readme = dirs.map((d) => join(d, 'README.md')).find((f) => existsSync(f) && existsSync(join(f, '..', 'package.json')));
  let link: string | undefined;
  const text = readme === undefined ? undefined : readmeText(readme);
  if (readme && text !== undefined) {
    const line = scoreSectionLine(text);
    // Parentheses would end a Markdown link's target early.
    link = pathToFileURL(readme).href.replace(/\(/g, '%28').replace(/\)/g, '%29') + (line === undefined ? '' : `#L${line + 1}`);
  }
  cache.set(key, link);
  return link;
}

/** The README's text, read as every file the server reads (a FIFO or a device in its place is skipped). */
function readmeText(file: string): string | undefined {
  try {
    return readTextBounded(file, { what: 'README', maxBytes: FILE_LIMITS.smallJson });
  } catch {
    return undefined; // no link: hovers work without it
  }
}
