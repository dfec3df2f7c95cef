/**
 * Short pieces of a document for people: the span of a few tokens that carried the most influence, with
 * some context on each side, as plain strings (the renderer bolds the span with its own markup, never by
 * splicing corpus text into markup).
 */

export interface Snippet {
  /** Text before the span (whitespace runs collapsed). */
  before: string;
  span: string;
  after: string;
  /** Whether text was cut off before `before` / after `after`. */
  cutStart: boolean;
  cutEnd: boolean;
}

/** Tokens in the highlighted span. */
export const SPAN_TOKENS = 8;

/**
 * The characters of the window of SPAN_TOKENS consecutive tokens whose summed influence is largest
 * (side 'top') or most negative ('bottom'); undefined for a document with no tokens.
 */
export function bestSpan(tokens: { start: number; end: number; value: number }[], side: 'top' | 'bottom'): { start: number; end: number } | undefined {
  if (tokens.length === 0) return undefined;
  const w = Math.min(SPAN_TOKENS, tokens.length);
  const sign = side === 'top' ? 1 : -1;
  let sum = 0;
  for (let i = 0; i < w; i++) sum += tokens[i].value;
  let best = sum * sign;
  let at = 0;
  for (let i = w; i < tokens.length; i++) {
    sum += tokens[i].value - tokens[i - w].value;
    if (sum * sign > best) {
      best = sum * sign;
      at = i - w + 1;
    }
  }
  return { start: tokens[at].start, end: tokens[at + w - 1].end };
}

/** The span widened to whole words (tokens are often pieces of words), within at most 20 characters. */
export function toWords(text: string, span: { start: number; end: number }): { start: number; end: number } {
  let { start, end } = span;
  while (start > 0 && span.start - start < 20 && /\S/.test(text[start - 1]) && /\S/.test(text[start])) start--;
  while (end < text.length && end - span.end < 20 && /\S/.test(text[end]) && /\S/.test(text[end - 1])) end++;
  return { start, end };
}

/** The span with up to `context` characters around it, cut at word boundaries where possible. */
export function snippetAround(text: string, token: { start: number; end: number } | undefined, context = 60): Snippet {
  const flat = (s: string) => s.replace(/\s+/g, ' ');
  const span = token && toWords(text, token);
  if (!span) {
    const head = text.slice(0, 2 * context);
    return { before: '', span: flat(head), after: '', cutStart: false, cutEnd: head.length < text.length };
  }
  let from = Math.max(0, span.start - context);
  let to = Math.min(text.length, span.end + context);
  // Move the cuts to the nearest whitespace inside the context, so words are not split.
  if (from > 0) {
    const ws = text.slice(from, span.start).search(/\s/);
    if (ws >= 0) from += ws + 1;
  }
  if (to < text.length) {
    const tail = text.slice(span.end, to);
    const ws = tail.search(/\s\S*$/);
    if (ws >= 0) to = span.end + ws;
  }
  return {
    before: flat(text.slice(from, span.start)).trimStart(),
    span: flat(text.slice(span.start, span.end)),
    after: flat(text.slice(span.end, to)).trimEnd(),
    cutStart: from > 0,
    cutEnd: to < text.length,
  };
}
