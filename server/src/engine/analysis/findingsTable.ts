/** The findings (findings.ts) as text for the terminal and as a Markdown table for docs/EVALUATION.md. */
import type { Finding } from './findings';
import { formatP, pEquals } from './pValues';

/**
 * The verdict on a claim: "holds" only in the claimed direction with a significant test; in the claimed
 * direction otherwise, it says so ("direction as claimed, not significant").
 */
export function verdict(f: Pick<Finding, 'direction' | 'holds' | 'p'>): string {
  if (f.direction === null) return 'n/a';
  if (!f.direction) return 'does not hold';
  if (f.holds) return 'holds';
  return f.p === null ? 'direction as claimed, not tested' : 'direction as claimed, not significant';
}

export function findingsText(findings: readonly Finding[]): string[] {
  const out = ['', "6. The paper's findings, side by side (a claim holds when its direction is the claimed one and its test is significant, p < 0.05)"];
  for (const f of findings) {
    out.push(`  [${f.analysis}] ${f.claim}: ${verdict(f)} (${pEquals(f.p)})`);
    out.push(`      paper: ${f.paper}`);
    out.push(`      here:  ${f.measured}${f.note ? `; ${f.note}` : ''}`);
  }
  return out;
}

export function findingsMarkdown(findings: readonly Finding[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = findings.map((f) =>
    [String(f.analysis), f.claim, f.paper, f.measured + (f.note ? `; ${f.note}` : ''), verdict(f), f.test, formatP(f.p)].map(cell).join(' | '),
  );
  return (
    ['| # | claim | paper (7B / 35B) | measured here | verdict (p < 0.05) | test | p |', '|---|---|---|---|---|---|---:|', ...rows.map((r) => `| ${r} |`)].join(
      '\n',
    ) + '\n'
  );
}
