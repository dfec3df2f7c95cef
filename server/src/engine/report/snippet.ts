/**
 * Short snippets of (untrusted) document text for the cards: plain strings only, the most influential
 * span apart so that the renderer can bold it with a DOM node (never by building HTML).
 */
import type { Side, Snippet } from '../../common/views';

/** A token of the document: its characters [start, end) in the text and its influence g_tᵀ P_q a_t. */
export interface TokenSpan {
  start: number;
  end: number;
  score: number;
}

export interface SnippetOptions {
  /** Per-token influence, in text order; without it the snippet is the start of the text. */
  spans?: readonly TokenSpan[];
  /** 'top': bold the most helpful run of tokens; 'bottom': the most harmful. */
  side?: Side;
  /** Characters shown at most, ellipses aside (default 280). */
  maxChars?: number;
  /** Characters of the bold span at most (default 80). */
  maxBoldChars?: number;
}

const ELLIPSIS = '…';

/** Runs of whitespace (newlines included) shown as one space: cards are short. */
function squash(s: string): string {
  return s.replace(/\s+/g, ' ');
}

/** Not in the middle of a surrogate pair. */
function safeCut(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return i > 0 && i < s.length && c >= 0xdc00 && c <= 0xdfff ? i - 1 : i;
}

/** The first `n` characters, cut at a space when one is near, with an ellipsis when cut. */
function head(s: string, n: number): string {
  if (s.length <= n) return s;
  const space = s.lastIndexOf(' ', n);
  const cut = safeCut(s, space >= n * 0.6 ? space : n);
  return s.slice(0, cut) + ELLIPSIS;
}

/** The last `n` characters, likewise. */
function tail(s: string, n: number): string {
  if (s.length <= n) return s;
  const from = s.length - n;
  const space = s.indexOf(' ', from);
  const cut = safeCut(s, space >= 0 && space <= from + n * 0.4 ? space + 1 : from);
  return ELLIPSIS + s.slice(cut);
}

/** A neighbour joins the bold run while its influence is at least this share of the strongest token's. */
const RUN_SHARE = 0.25;

/**
 * The strongest token (largest signed influence) and its neighbours while they are nearly as strong
 * (RUN_SHARE) and the run fits in maxChars: compact, where a maximum-sum run would swallow every weakly
 * positive token around it. Null when no token is positive.
 */
function strongestRun(spans: readonly TokenSpan[], sign: number, maxChars: number): { start: number; end: number } | null {
  let peak = -1;
  for (let i = 0; i < spans.length; i++) if (sign * spans[i].score > 0 && (peak < 0 || sign * spans[i].score > sign * spans[peak].score)) peak = i;
  if (peak < 0) return null;
  const floor = RUN_SHARE * sign * spans[peak].score;
  let a = peak;
  let b = peak;
  for (;;) {
    const left = a > 0 && sign * spans[a - 1].score >= floor && spans[b].end - spans[a - 1].start <= maxChars;
    const right = b < spans.length - 1 && sign * spans[b + 1].score >= floor && spans[b + 1].end - spans[a].start <= maxChars;
    if (!left && !right) break;
    // The stronger neighbour first.
    if (left && (!right || spans[a - 1].score * sign >= spans[b + 1].score * sign)) a--;
    else b++;
  }
  return { start: spans[a].start, end: spans[b].end };
}

/** [start, end) widened to whole words (tokens are often pieces of words), by at most 20 characters each way. */
function toWords(text: string, start: number, end: number): { start: number; end: number } {
  const word = (i: number) => i >= 0 && i < text.length && /\S/.test(text[i]);
  let a = start;
  let b = Math.max(start, end);
  while (a > 0 && start - a < 20 && word(a - 1) && word(a)) a--;
  while (b < text.length && b - end < 20 && word(b) && word(b - 1)) b++;
  return { start: a, end: b };
}

/** A snippet of `text`: around its most influential span when per-token influence is given, else its start. */
export function snippetFor(text: string, options: SnippetOptions = {}): Snippet {
  const maxChars = options.maxChars ?? 280;
  const run = options.spans?.length ? strongestRun(options.spans, options.side === 'bottom' ? -1 : 1, options.maxBoldChars ?? 80) : null;
  if (!run) return { before: head(squash(text), maxChars), bold: '', after: '' };
  const { start, end } = toWords(text, Math.max(0, Math.min(run.start, text.length)), Math.min(run.end, text.length));
  const bold = squash(text.slice(start, end));
  const room = Math.max(0, maxChars - bold.length);
  const before = squash(text.slice(0, start));
  const after = squash(text.slice(end));
  // About a third of the room before the span, the rest after; what one side leaves goes to the other.
  const beforeRoom = Math.max(Math.floor(room / 3), room - after.length);
  const shownBefore = tail(before, Math.min(before.length, beforeRoom));
  return { before: shownBefore, bold, after: head(after, Math.max(0, room - Math.min(before.length, beforeRoom))) };
}
