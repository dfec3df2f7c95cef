/** Hover Markdown from untrusted text: escaped, one line, no links but our own; the span bolded on word boundaries. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { commandLink, score, text } from '../../server/src/handlers/markdown';
import { snippetFor } from '../../server/src/engine/report/snippet';
import { splitSelection } from '../../server/src/handlers/hover';

test('text() leaves nothing a Markdown renderer would act on', () => {
  const hostile = '[x](command:evil) ![i](https://e.x/i.png) <script>a</script> *b* _c_ `d` # e | f \\ g\n\u001b]0;t\u0007 www.e.x';
  const out = text(hostile, 1000);
  assert.ok(!out.includes('\n'));
  for (const raw of ['\u001b', '\u0007']) assert.ok(!out.includes(raw), `raw ${JSON.stringify(raw)}`);
  // Every ASCII punctuation character is backslash-escaped.
  assert.ok(!/(^|[^\\])[[\]()<>*_`#|]/.test(out.replace(/\\\\/g, '')), out);
  assert.match(out, /\\u001b/);
  assert.ok(!/https:\/\//.test(out) && !/www\./.test(out), 'autolinks broken');
  assert.ok(text('x'.repeat(500), 100).length <= 100);
});

test('command links carry JSON arguments, scores are signed and compact', () => {
  assert.equal(
    commandLink('open', 'influenceLens.openDocument', [{ ref: 'r', document: 3 }]),
    '[open](command:influenceLens.openDocument?%5B%7B%22ref%22%3A%22r%22%2C%22document%22%3A3%7D%5D)',
  );
  assert.equal(score(0.00231), '+2.31e-3');
  assert.equal(score(-12.5), '−1.25e1');
});

test('a snippet widens its bold span to whole words', () => {
  const t = 'Once upon a time, there was a girl named Mia. Mia loved her jewelry. She had a big box.';
  const at = t.indexOf('Mia lo');
  const spans = [
    { start: at, end: at + 3, score: 2 },
    { start: at + 3, end: at + 6, score: 1 },
  ];
  const s = snippetFor(t, { spans, side: 'top' });
  assert.equal(s.bold, 'Mia loved');
  assert.ok(s.before.endsWith('named Mia. '));
});

test('a selection splits on the separator line into prompt and completion', () => {
  assert.deepEqual(splitSelection('The capital of France is\n---\n Paris', '---'), { prompt: 'The capital of France is', completion: ' Paris' });
  assert.deepEqual(splitSelection('no separator here', '---'), { prompt: 'no separator here' });
  assert.deepEqual(splitSelection('a\r\n  ---  \r\n', '---'), { prompt: 'a' }, 'an empty completion means "generate"');
  assert.deepEqual(splitSelection('x --- y', '---'), { prompt: 'x --- y' }, 'only a line of its own splits');
});
