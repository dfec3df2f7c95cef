import assert from 'node:assert/strict';

/** max |a − e| / max |e|: the relative error the numerical tests bound. */
export function relativeError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  assert.equal(actual.length, expected.length, 'lengths differ');
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

export function assertRelClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): number {
  const err = relativeError(actual, expected);
  assert.ok(Number.isFinite(err) && err <= tol, `${what}: relative error ${err.toExponential(2)} > ${tol}`);
  return err;
}
