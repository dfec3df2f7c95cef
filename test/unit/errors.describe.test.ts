/**
 * describeError (engine/errors.ts): the sentence and location the server shows for an engine error. The file
 * (and line) lead the message unless the message names the file already; anything not the engine's is INTERNAL.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeError, InfluenceLensError } from '../../server/src/engine/errors';

test('an engine error names its file and line before the message', () => {
  const d = describeError(new InfluenceLensError('MODEL_FORMAT', 'bad header', { file: '/m/model.bin', line: 3 }));
  assert.deepEqual(d, { message: '/m/model.bin:3: bad header', error: { code: 'MODEL_FORMAT', file: '/m/model.bin', line: 3 } });
});

test('a message that names the file already is kept as it is', () => {
  const d = describeError(new InfluenceLensError('NOT_FOUND', 'no file /c/corpus.jsonl', { file: '/c/corpus.jsonl' }));
  assert.deepEqual(d, { message: 'no file /c/corpus.jsonl', error: { code: 'NOT_FOUND', file: '/c/corpus.jsonl' } });
});

test('an error without a place, and anything else, are described by their message alone', () => {
  assert.deepEqual(describeError(new InfluenceLensError('IO', 'disk full')), { message: 'disk full', error: { code: 'IO' } });
  assert.deepEqual(describeError(new Error('boom')), { message: 'boom', error: { code: 'INTERNAL' } });
  assert.deepEqual(describeError('plain'), { message: 'plain', error: { code: 'INTERNAL' } });
});
