/**
 * Untrusted text (corpus text, document ids, source labels, query fields, file names) on its way to a
 * terminal or a log. A raw ESC or OSC sequence can retitle the terminal, clear the screen, move the
 * cursor to forge earlier output, or (with some terminals) write files; a carriage return overwrites
 * the line; bidirectional overrides reorder what is shown. All of them are made visible instead.
 */

/**
 * C0 controls but tab and line feed, DEL, C1 controls (0x9B is a one-byte CSI on 8-bit terminals),
 * the line/paragraph separators and the bidirectional marks, embeddings, overrides and isolates.
 */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

const NAMED: Record<string, string> = { '\r': '\\r', '\n': '\\n' };

function visible(c: string): string {
  return NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

export interface TerminalTextOptions {
  /** Keep line feeds (a whole message or table); otherwise they are shown as `\n` (one field). */
  multiline?: boolean;
}

/**
 * The text with every control character shown as an escape (`\u001b`, `\r`, `\u202e`, …) so that it
 * prints as what it is. Tabs stay; line feeds stay only with `multiline`.
 */
export function safeForTerminal(text: string, options: TerminalTextOptions = {}): string {
  const escaped = text.replace(INVISIBLE, visible);
  return options.multiline ? escaped : escaped.replace(/\n/g, '\\n');
}
