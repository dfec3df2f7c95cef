/**
 * Plain `textDocument/hover` in prose files, for editors that cannot send a selection (Helix, eglot,
 * Neovim's `K`): the paragraph under the cursor (the lines around it up to a blank line) is the prompt, as
 * if it had been selected.
 */
import type { Range } from '../protocol';

/** The language ids editors give plain text and Markdown (VS Code, Neovim, Helix, Emacs), and their file endings. */
const PROSE_LANGUAGES = new Set(['plaintext', 'text', 'markdown']);
const PROSE_FILE = /\.(txt|text|md|markdown)$/i;

export function isProseFile(doc: { uri: string; languageId?: string }): boolean {
  return (doc.languageId !== undefined && PROSE_LANGUAGES.has(doc.languageId)) || PROSE_FILE.test(doc.uri);
}

/** The paragraph holding `line` (0-based) and its range, or null on a blank line. */
export function paragraphAt(lines: readonly string[], line: number): { text: string; range: Range } | null {
  const blank = (i: number) => lines[i].trim() === '';
  if (line < 0 || line >= lines.length || blank(line)) return null;
  let first = line;
  while (first > 0 && !blank(first - 1)) first--;
  let last = line;
  while (last + 1 < lines.length && !blank(last + 1)) last++;
  return {
    text: lines.slice(first, last + 1).join('\n'),
    range: { start: { line: first, character: 0 }, end: { line: last, character: lines[last].length } },
  };
}
