/** p-values as text, for the headline table (headline.ts) and the findings table (findingsTable.ts) alike. */

/** A p-value: three decimals, or scientific below 0.001. */
export function formatP(p: number | null | undefined): string {
  if (p === null || p === undefined) return '–';
  if (p === 0) return '<1e-300';
  return p < 1e-3 ? p.toExponential(1) : p.toFixed(3);
}

/** "p = 0.012", "p = 3.0e-5", or "p < 1e-300" (never "p = <1e-300"). */
export function pEquals(p: number | null | undefined): string {
  return p === 0 ? 'p < 1e-300' : `p = ${formatP(p)}`;
}
