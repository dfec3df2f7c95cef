/**
 * NaN and ±Infinity in weights, factors or scores: one of them spreads through every product it meets
 * (a NaN weight gives null losses, a NaN eigendecomposition, all-NaN scores), so they are refused where
 * numbers are loaded or produced, naming the tensor and the file.
 */
import { InfluenceLensError } from '../errors';

/** Index of the first NaN or ±Infinity, or -1. */
export function firstNonFinite(data: ArrayLike<number>): number {
  for (let i = 0; i < data.length; i++) {
    const x = data[i];
    // x - x is NaN exactly for NaN and ±Infinity; cheaper than Number.isFinite per element.
    if (x - x !== 0) return i;
  }
  return -1;
}

/** Throws `code` when `data` holds a non-finite value: "<what> holds NaN at element i (<file>)". */
export function assertFinite(data: ArrayLike<number>, what: string, where: { file?: string; code: string; remedy?: string }): void {
  const i = firstNonFinite(data);
  if (i < 0) return;
  const at = where.file ? ` in ${where.file}` : '';
  throw new InfluenceLensError(
    where.code,
    `${what}${at} holds ${String(data[i])} at element ${i}${where.remedy ? `; ${where.remedy}` : ''}`,
    where.file ? { file: where.file } : {},
  );
}
