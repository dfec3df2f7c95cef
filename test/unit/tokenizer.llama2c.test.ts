import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { loadLlama2cTokenizer } from '../../server/src/engine/tokenizer/llama2c';
import { loadTokenizer } from '../../server/src/engine/tokenizer/load';
import { SKIP_NO_SHARED, TOK512, fixture } from '../helpers/fixtures';

/**
 * Ids printed by upstream llama2.c run.c `encode(t, text, 0, 0, ...)` (karpathy/llama2.c commit
 * 350e04fe35433e6d2941dce5a1f53308f87058eb), built with gcc and driven over tok512.bin, vocab 512.
 */
const RUNC_TOK512: Array<[string, number[]]> = [
  ['', []],
  ['Hello world', [346, 306, 414, 263, 304, 341]],
  ['Once upon a time, there was a little girl named Lily.', [403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426]],
  [
    "Hello, world! How are you? I'm fine; thanks: (yes) [no] {maybe} \"quoted\" 'single' - dash_under.",
    [
      346, 306, 414, 432, 263, 304, 341, 443, 320, 327, 261, 276, 364, 450, 359, 439, 423, 272, 271, 411, 474, 308, 303, 433, 419, 467, 410, 489, 422, 406, 488,
      410, 508, 416, 414, 509, 410, 126, 423, 283, 430, 411, 128, 313, 456, 425, 309, 266, 436, 410, 439, 419, 299, 305, 439, 410, 464, 279, 412, 419, 415, 98,
      425, 264, 285, 426,
    ],
  ],
  ['line one\nline two\n\nline four\n', [278, 271, 411, 353, 411, 13, 421, 271, 411, 259, 424, 414, 13, 13, 421, 271, 411, 272, 277, 420, 13]],
  ['a  b   c    d', [261, 410, 268, 410, 410, 280, 410, 410, 410, 279]],
  ['  leading spaces', [410, 410, 278, 411, 380, 299, 262, 427, 412, 331, 419]],
  ['trailing spaces  ', [259, 420, 412, 290, 299, 262, 427, 412, 331, 419, 410, 410]],
  ['\ttab\tseparated', [410, 12, 413, 412, 430, 12, 372, 427, 295, 294, 266]],
  ['café', [280, 412, 431, 485]],
  ['naïve résumé', [297, 412, 198, 178, 360, 352, 485, 419, 425, 423, 485]],
  ['日本', [410, 233, 154, 168, 233, 159, 175]],
  ['emoji 😀 and 👍🏽', [344, 423, 414, 449, 417, 410, 243, 162, 155, 131, 269, 410, 243, 162, 148, 144, 243, 162, 146, 192]],
  ['Ω≈ç√∫', [410, 209, 172, 229, 140, 139, 198, 170, 229, 139, 157, 229, 139, 174]],
  ['™', [410, 507]],
  ['numbers 1234567890 3.14', [297, 425, 423, 430, 285, 419, 410, 475, 479, 472, 484, 480, 490, 491, 487, 483, 477, 410, 472, 426, 475, 484]],
  [' ', [410, 410]],
  ['\n', [410, 13]],
  [
    'The quick brown fox jumps over the lazy dog. THE QUICK BROWN FOX.',
    [
      291, 410, 456, 425, 417, 340, 268, 420, 327, 416, 272, 414, 444, 410, 449, 425, 423, 427, 419, 334, 330, 265, 278, 412, 451, 422, 400, 428, 426, 274, 440,
      459, 410, 473, 471, 442, 457, 462, 368, 461, 441, 448, 458, 410, 453, 441, 478, 426,
    ],
  ],
  ["It's don't won't they're.", [359, 413, 439, 419, 279, 289, 439, 413, 263, 289, 439, 413, 366, 439, 276, 426]],
  ['x', [410, 444]],
];

/** Same run.c build over all of tinystories/valid-head.jsonl: token count and a 31-polynomial hash. */
const RUNC_VALID_HEAD = { texts: 463, tokens: 181085, hash: -1856127882 };

/**
 * A tiny tokenizer written here, so merge rules are tested without ../shared. Ids 259.. are EXTRA;
 * "ab"/"bc" tie (leftmost wins), "a b" crosses a space (a merge across words), "cc" scores below
 * run.c's -1e10 floor (never merges).
 */
const EXTRA: Array<[string, number]> = [
  [' ', 0],
  ['a', 0],
  ['b', 0],
  ['c', 0],
  ['d', 0],
  ['é', 0],
  ['ab', -1],
  ['bc', -1],
  ['abc', -2],
  [' a', -3],
  [' b', -6],
  [' d', -4],
  ['a b', -0.5],
  ['dd', -1],
  ['ddd', -0.25],
  ['cc', -2e10],
];
const SYNTHETIC_VOCAB = 259 + EXTRA.length;
/** From the same run.c build, over the file `synthetic()` writes. */
const RUNC_SYNTHETIC: Array<[string, number[]]> = [
  ['abc', [259, 267]],
  ['bca', [259, 266, 260]],
  ['ca b', [259, 262, 271]],
  ['dddd', [259, 273, 263]],
  ['d d', [270, 270]],
  ['cc', [259, 262, 262]],
  ['é', [259, 264]],
  ['ü', [259, 198, 191]],
  ['abcabc', [259, 267, 267]],
  ['a\n b', [268, 13, 269]],
  ['xyz', [259, 123, 124, 125]],
  ['  a', [259, 259, 268]],
];

function synthetic(extra: Array<[string, number]>): Buffer {
  const pieces: Array<[Buffer, number]> = [
    [Buffer.from('<unk>'), 0],
    [Buffer.from('\n<s>\n'), 0],
    [Buffer.from('\n</s>\n'), 0],
    ...Array.from({ length: 256 }, (_, b): [Buffer, number] => [Buffer.from(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`), 0]),
    ...extra.map(([s, score]): [Buffer, number] => [Buffer.from(s, 'utf8'), score]),
  ];
  const parts: Buffer[] = [Buffer.alloc(4)];
  parts[0].writeInt32LE(Math.max(...pieces.map(([p]) => p.length)));
  for (const [p, score] of pieces) {
    const h = Buffer.alloc(8);
    h.writeFloatLE(score);
    h.writeInt32LE(p.length, 4);
    parts.push(h, p);
  }
  return Buffer.concat(parts);
}

function tmpFile(name: string, data: Buffer): string {
  const path = join(mkdtempSync(join(tmpdir(), 'il-tok-')), name);
  writeFileSync(path, data);
  return path;
}

function isError(code: string, ...mentions: string[]) {
  return (e: unknown) => e instanceof InfluenceLensError && e.code === code && mentions.every((m) => e.message.includes(m));
}

test('encode matches upstream run.c on tok512', { skip: SKIP_NO_SHARED }, () => {
  const tok = loadLlama2cTokenizer(TOK512(), 512);
  assert.equal(tok.kind, 'llama2c');
  assert.equal(tok.vocabSize, 512);
  assert.equal(tok.bosId, 1);
  assert.equal(tok.eosId, 2);
  for (const [text, ids] of RUNC_TOK512) assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
});

test('encode matches upstream run.c over a TinyStories file', { skip: SKIP_NO_SHARED }, () => {
  const tok = loadLlama2cTokenizer(TOK512(), 512);
  const lines = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').trim().split('\n');
  let tokens = 0;
  let hash = 0;
  for (const line of lines) {
    for (const id of tok.encode((JSON.parse(line) as { text: string }).text)) {
      hash = (Math.imul(hash, 31) + id) | 0;
      tokens++;
    }
  }
  assert.deepEqual({ texts: lines.length, tokens, hash }, RUNC_VALID_HEAD);
});

test('decode after BOS gives the text back (true of run.c with tok512)', { skip: SKIP_NO_SHARED }, () => {
  const tok = loadLlama2cTokenizer(TOK512(), 512);
  for (const [text, ids] of RUNC_TOK512) {
    assert.equal(tok.decode(ids, 1), text);
    // Without BOS before it, the dummy-prefix space stays.
    if (text !== '') assert.equal(tok.decode(ids), ' ' + text);
  }
});

test('decode strips the space after BOS only, and assembles byte tokens into UTF-8', { skip: SKIP_NO_SHARED }, () => {
  const tok = loadLlama2cTokenizer(TOK512(), 512);
  const a = tok.encode('a')[0]; // " a"
  assert.equal(tok.decode([a], 1), 'a');
  assert.equal(tok.decode([a]), ' a');
  assert.equal(tok.decode([1, a, a]), '\n<s>\na a');
  // 日 = E6 97 A5 as three byte-fallback tokens (byte + 3): whole only when decoded together.
  assert.equal(tok.decode([0xe6 + 3, 0x97 + 3, 0xa5 + 3]), '日');
  assert.equal(tok.decode([0xe6 + 3]), '\uFFFD');
  assert.throws(() => tok.decode([512]), RangeError);
});

test('merge rules match run.c on a synthetic vocab (ties, merges across a space, score floor)', () => {
  const tok = loadLlama2cTokenizer(tmpFile('synthetic.bin', synthetic(EXTRA)), SYNTHETIC_VOCAB);
  for (const [text, ids] of RUNC_SYNTHETIC) {
    assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
    assert.equal(tok.decode(ids, 1), text);
  }
});

test('without cross-space pieces, word-by-word merging gives the same ids', () => {
  const extra = EXTRA.filter(([s]) => s !== 'a b');
  const tok = loadLlama2cTokenizer(tmpFile('synthetic.bin', synthetic(extra)), 259 + extra.length);
  for (const [text, ids] of RUNC_SYNTHETIC) {
    if (text !== 'ca b')
      assert.deepEqual(
        tok.encode(text),
        ids.map((id) => (id > 271 ? id - 1 : id)),
        JSON.stringify(text),
      );
  }
  // Repeated text hits the per-word cache and must not change.
  assert.deepEqual(tok.encode('abc abc abc'), tok.encode('abc abc abc'));
});

test('load errors name the file', () => {
  const missing = join(tmpdir(), 'il-no-such-dir', 'tok.bin');
  assert.throws(() => loadLlama2cTokenizer(missing, 512), isError('NOT_FOUND', missing));
  const full = synthetic(EXTRA);
  const headerOnly = tmpFile('short.bin', full.subarray(0, 2));
  assert.throws(() => loadLlama2cTokenizer(headerOnly, SYNTHETIC_VOCAB), isError('TRUNCATED', headerOnly));
  const cut = tmpFile('cut.bin', full.subarray(0, full.length - 1));
  assert.throws(() => loadLlama2cTokenizer(cut, SYNTHETIC_VOCAB), isError('TRUNCATED', cut));
  const whole = tmpFile('whole.bin', full);
  assert.throws(() => loadLlama2cTokenizer(whole, SYNTHETIC_VOCAB + 1), isError('MODEL_FORMAT', whole, `holds ${SYNTHETIC_VOCAB} tokens`));
});

test('loadTokenizer finds tokenizer.bin beside the checkpoint, or asks for --tokenizer', async () => {
  const bin = tmpFile('tokenizer.bin', synthetic(EXTRA));
  const model = join(bin, '..', 'model.bin');
  const beside = await loadTokenizer({ modelPath: model, vocabSize: SYNTHETIC_VOCAB, format: 'llama2c' });
  assert.deepEqual(beside.encode('abc'), [259, 267]);
  const explicit = tmpFile('other.bin', synthetic(EXTRA));
  const named = await loadTokenizer({ modelPath: model, tokenizerPath: explicit, vocabSize: SYNTHETIC_VOCAB, format: 'llama2c' });
  assert.deepEqual(named.encode('abc'), [259, 267]);
  const lonely = join(mkdtempSync(join(tmpdir(), 'il-tok-')), 'model.bin');
  await assert.rejects(
    loadTokenizer({ modelPath: lonely, vocabSize: SYNTHETIC_VOCAB, format: 'llama2c' }),
    isError('NOT_FOUND', 'missing tokenizer: pass --tokenizer PATH (llama2.c tokenizer .bin)'),
  );
});
