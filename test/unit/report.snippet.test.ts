/**
 * Snippets for the cards: the start of the text when per-token influence is unknown, else the run of
 * tokens with the largest (helpful) or smallest (harmful) summed influence, bold, within its context;
 * plain strings, hostile markup passed through as characters, never broken surrogate pairs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { snippetFor, type TokenSpan } from '../../server/src/engine/report/snippet';

/** Whitespace-separated words as token spans, scored by `score(word, i)`. */
function spansOf(text: string, score: (word: string, i: number) => number): TokenSpan[] {
  const spans: TokenSpan[] = [];
  for (const m of text.matchAll(/\S+/g)) spans.push({ start: m.index!, end: m.index! + m[0].length, score: score(m[0], spans.length) });
  return spans;
}

test('without per-token influence: the start of the text, whitespace squashed, cut at a word', () => {
  const text = 'First  line\nsecond line ' + 'word '.repeat(200);
  const s = snippetFor(text, { maxChars: 60 });
  assert.equal(s.bold, '');
  assert.equal(s.after, '');
  assert.ok(s.before.startsWith('First line second line word'));
  assert.ok(s.before.endsWith('…'));
  assert.ok(s.before.length <= 61);
  assert.ok(!s.before.slice(0, -1).endsWith(' wor'), 'cut at a word boundary');
  assert.deepEqual(snippetFor('short text'), { before: 'short text', bold: '', after: '' });
});

test('the bold span is the strongest run of tokens, helpful for top and harmful for bottom', () => {
  const words = Array.from({ length: 120 }, (_, i) => `w${i}`);
  const text = words.join(' ');
  const scores = words.map((_, i) => (i >= 40 && i < 44 ? 2 : i >= 90 && i < 93 ? -3 : 0.01 * Math.sin(i)));
  const spans = spansOf(text, (_, i) => scores[i]);
  const top = snippetFor(text, { spans, side: 'top' });
  assert.equal(top.bold, 'w40 w41 w42 w43');
  assert.ok(top.before.endsWith('w39 '), top.before);
  assert.ok(top.after.startsWith(' w44'), top.after);
  const bottom = snippetFor(text, { spans, side: 'bottom' });
  assert.equal(bottom.bold, 'w90 w91 w92');
  assert.ok(bottom.before.startsWith('…'));
  assert.ok(`${bottom.before}${bottom.bold}${bottom.after}`.length <= 280 + 2);
  // The bold run is capped in characters.
  const long = snippetFor(text, { spans: spansOf(text, () => 1), maxBoldChars: 20 });
  assert.ok(long.bold.length <= 20 && long.bold.length > 10, long.bold);
  // Nothing helpful at all: no bold, the start of the text.
  assert.equal(snippetFor(text, { spans: spansOf(text, () => -1), side: 'top' }).bold, '');
});

test('hostile markup stays characters; surrogate pairs are never split', () => {
  const hostile = '<script>alert(1)</script><img src=x onerror=alert(2)> <a href="javascript:alert(3)">x</a>';
  const s = snippetFor(hostile);
  assert.equal(s.before, hostile);
  const emoji = '😀'.repeat(200);
  const cut = snippetFor(emoji, { maxChars: 51 }).before;
  assert.ok(!/[\ud800-\udbff](?![\udc00-\udfff])/.test(cut) && !/(?<![\ud800-\udbff])[\udc00-\udfff]/.test(cut), 'no lone surrogate');
});
