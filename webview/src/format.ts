/**
 * How numbers are written in the panel and the report (shared with the tests, which compare what is
 * shown with analysis.json). A true minus sign; "–" for a missing value.
 */

export const MISSING = '–';

function minus(s: string): string {
  return s.replace(/^-/, '−').replace(/e-/, 'e−');
}

/** Fixed decimals (r, α, t). */
export function fixed(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return MISSING;
  const s = x.toFixed(digits);
  return minus(/^-0\.?0*$/.test(s) ? s.slice(1) : s);
}

/** Three significant digits, in exponent form when very small or large (influence scores). */
export function sig(x: number | null | undefined, digits = 3): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return MISSING;
  if (x === 0) return '0';
  const a = Math.abs(x);
  return minus(a >= 1e-3 && a < 1e5 ? String(Number(x.toPrecision(digits))) : x.toExponential(digits - 1));
}

/** A score with its sign always shown. */
export function signed(x: number | null | undefined): string {
  const s = sig(x);
  return x !== null && x !== undefined && x > 0 ? `+${s}` : s;
}

/** A rate in [0, 1] as a percentage. */
export function percent(x: number | null | undefined, digits = 0): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return MISSING;
  return `${(100 * x).toFixed(digits)}%`;
}

/** A p-value: two significant digits, "< 0.001" below that. */
export function pValue(p: number | null | undefined): string {
  if (p === null || p === undefined || !Number.isFinite(p)) return MISSING;
  return p < 0.001 ? '< 0.001' : String(Number(p.toPrecision(2)));
}

/** A p-value in a sentence: "p = 0.012", or "p < 0.001" (never "p = < 0.001"). */
export function pEquals(p: number | null | undefined): string {
  const v = pValue(p);
  return v.startsWith('<') ? `p ${v}` : `p = ${v}`;
}

/** A count with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString('en-US');
}

/** mean ± sd. */
export function meanSd(s: { mean: number | null; sd: number | null }, digits = 3): string {
  return s.sd === null ? fixed(s.mean, digits) : `${fixed(s.mean, digits)} ± ${fixed(s.sd, digits)}`;
}
