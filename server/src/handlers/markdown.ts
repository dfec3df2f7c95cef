/**
 * Markdown for hovers, built from untrusted text. Every piece of corpus or editor text goes through
 * `text()`, which escapes every Markdown and HTML metacharacter and makes control characters visible, so
 * a document can never add links, images, HTML or command links; the only links are the ones built here,
 * to this extension's commands, whose arguments are ids the server issued.
 */

/** ASCII punctuation CommonMark lets a backslash escape: all of it is escaped. */
const PUNCTUATION = /[\\`*_{}[\]()#+\-.!|<>&~"'$%,/:;=?@^]/g;

/**
 * Untrusted text as inert Markdown: one line, metacharacters escaped, control characters visible, and
 * autolinks broken (renderers link bare "https://…" and "www." even when escaped) with a zero-width space.
 */
export function text(s: string, maxChars = 200): string {
  let flat = s.replace(/\r\n|\r|\n/g, ' ⏎ ').replace(/\s+/g, ' ');
  if (flat.length > maxChars) flat = flat.slice(0, maxChars - 1) + '…';
  const unlinked = visibleControls(flat)
    .replace(/:\/\//g, ':\u200b//')
    .replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200b.`);
  return unlinked.replace(PUNCTUATION, (c) => `\\${c}`);
}

/** C0/C1 control characters (ESC, BEL, …) and bidi overrides as visible escapes (\u001b). */
export function visibleControls(s: string): string {
  return s.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A link to one of the extension's commands; `args` are plain JSON of server-issued ids. */
export function commandLink(label: string, command: string, args?: unknown[]): string {
  const query = args ? `?${encodeURIComponent(JSON.stringify(args))}` : '';
  return `[${label}](command:${command}${query})`;
}

/** A signed per-nat score, compact: +2.31e-3. */
export function score(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const s = x.toExponential(2).replace('e+', 'e');
  return x >= 0 ? `+${s}` : s.replace('-', '−');
}
