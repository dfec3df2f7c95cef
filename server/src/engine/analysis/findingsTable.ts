/** The findings (findings.ts) as text for the terminal and as a Markdown table for docs/EVALUATION.md. */
import type { Finding } from './findings';
import { formatP } from './headline';

const verdict = (h: boolean | null) => (h === null ? 'n/a' : h ? 'holds' : 'does not hold');

export function findingsText(findings: readonly Finding[]): string[] {
  const out = ['', "6. The paper's findings, side by side (direction here; test, p)"];
  for (const f of findings) {
    out.push(`  [${f.analysis}] ${f.claim}: ${verdict(f.holds)} (p = ${formatP(f.p)})`);
    out.push(`      paper: ${f.paper}`);
    out.push(`      here:  ${f.measured}${f.note ? `; ${f.note}` : ''}`);
  }
  return out;
}

export function findingsMarkdown(findings: readonly Finding[]): string {
  const cell = (s: string) => s.replace(/\|/g, '\\|');
  const rows = findings.map((f) =>
    [String(f.analysis), f.claim, f.paper, f.measured + (f.note ? `; ${f.note}` : ''), verdict(f.holds), f.test, formatP(f.p)].map(cell).join(' | '),
  );
  return ['| # | claim | paper (7B / 35B) | measured here | direction | test | p |', '|---|---|---|---|---|---|---:|', ...rows.map((r) => `| ${r} |`)].join('\n') + '\n';
}
