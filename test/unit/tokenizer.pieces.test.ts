/** Token pieces concatenate to the decoded text, for byte-level BPE (split characters), llama2.c (space after BOS) and a Llama-style Strip decoder. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadHuggingFaceTokenizer } from '../../server/src/engine/tokenizer/huggingface';
import { loadTokenizer } from '../../server/src/engine/tokenizer/load';
import { tokenPieces } from '../../server/src/engine/tokenizer/pieces';
import { REPO } from '../helpers/cli';
import { SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { writeLlamaStyleTokenizer } from '../helpers/llamaTokenizer';

const TEXTS = ['Paris is the capital of France.', 'café naïve 日本語 😀 — done', '  two  spaces\n\nand (7 - 4) * 7 = 21', 'x'];

test('byte-level BPE (the demo tokenizer): pieces rebuild the text, split characters go to the token that completes them', () => {
  const tok = loadHuggingFaceTokenizer(join(REPO, 'demo', 'model'));
  for (const text of TEXTS) {
    const ids = tok.encode(text);
    const pieces = tokenPieces(tok, ids, tok.bosId);
    assert.equal(pieces.length, ids.length);
    assert.equal(pieces.join(''), text, JSON.stringify(text));
    assert.ok(
      pieces.every((p) => !p.includes('\ufffd')),
      'no half characters',
    );
  }
  // "😀" is four bytes: whole in one piece, empty pieces before it.
  const ids = tok.encode('😀');
  assert.deepEqual(tokenPieces(tok, ids).filter(Boolean), ['😀']);
});

test('llama2.c tokenizer: the space after BOS is dropped once, pieces rebuild the decoded text', { skip: SKIP_NO_SHARED }, async () => {
  const tok = await loadTokenizer({ modelPath: STORIES260K(), tokenizerPath: TOK512(), vocabSize: 512, format: 'llama2c' });
  for (const text of ['Once upon a time, there was a girl named Lily.', 'The dog ran.\nThe end.']) {
    const ids = tok.encode(text);
    assert.equal(tokenPieces(tok, ids, 1).join(''), tok.decode(ids, 1));
  }
});

test('a Llama-style tokenizer (Strip decoder): pieces rebuild the decoded text', () => {
  const dir = mkdtempSync(join(tmpdir(), 'il-llama-tok-'));
  try {
    writeLlamaStyleTokenizer(dir);
    const tok = loadHuggingFaceTokenizer(dir);
    const ids = tok.encode('Lily is in Paris, is Lily.');
    assert.equal(tokenPieces(tok, ids).join(''), tok.decode(ids));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
