import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration } from '../../server/src/engine/util/duration';

test('durations for people: seconds, minutes, hours; rounding never shows 60 seconds', () => {
  assert.equal(formatDuration(0.4), '0s');
  assert.equal(formatDuration(59.4), '59s');
  assert.equal(formatDuration(59.6), '1m00s');
  assert.equal(formatDuration(119.6), '2m00s');
  assert.equal(formatDuration(185), '3m05s');
  assert.equal(formatDuration(3599.7), '1h00m');
  assert.equal(formatDuration(8040), '2h14m');
  assert.equal(formatDuration(-3), '0s');
});
