/** The compact plain-text headline table of an analysis report (printed by `influence-lens analyze` and the demo). */
import type { AnalysisReport } from './analyze';
import type { Summary } from '../../common/views';
import { findingsText } from './findingsTable';
import { formatP, pEquals } from './pValues';

function fixed(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined ? '–' : x.toFixed(digits);
}

function sci(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : x === 0 ? '0' : Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toPrecision(3) : x.toExponential(2);
}

function meanSd(s: Summary | undefined, f: (x: number | null) => string): string {
  if (!s || s.n === 0) return '–';
  return s.sd === null ? f(s.mean) : `${f(s.mean)} ± ${f(s.sd)}`;
}

function percent(x: number | null | undefined): string {
  return x === null || x === undefined ? '–' : `${Math.round(100 * x)}%`;
}

/** Sources named on the corpus line; the rest are summed into one entry. */
const MAX_LISTED_SOURCES = 10;

/** A source label cut to a table's width (labels come from the corpus and may be any length). */
function label(source: string): string {
  const chars = [...source];
  return chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : source;
}

function table(rows: string[][], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, j) => (widths[j] = Math.max(widths[j] ?? 0, [...c].length)));
  return rows.map(
    (r) =>
      indent +
      r
        .map((c, j) => (j === r.length - 1 ? c : c + ' '.repeat(widths[j] - [...c].length)))
        .join('   ')
        .trimEnd(),
  );
}

/** The headline table: one section per analysis. */
export function headlineTable(report: AnalysisReport, top = 3): string {
  const out: string[] = [];
  const kinds = Object.keys(report.kinds);
  const counts = kinds.map((k) => `${report.kinds[k].queries} ${k}`).join(', ');
  out.push(`Influence analyses: ${report.results.queries} queries (${counts}) × ${report.results.documents} documents`);

  const c = report.correlations;
  out.push('', '1. Query-query correlation (Pearson r of raw scores over documents)');
  out.push(
    ...table([
      ['group', 'queries', 'pairs', 'mean r', 'p (vs 0)', `p (vs random sets)`],
      ...c.groups
        .filter((g) => !(g.type === 'within' && g.a.task !== null && g.a.kind !== 'reasoning'))
        .map((g) => [
          g.label,
          String(g.queries),
          String(g.pairs),
          fixed(g.meanR),
          formatP(g.test.p),
          g.permutationP === undefined ? '' : formatP(g.permutationP),
        ]),
    ]),
  );
  out.push(`  p (vs 0): t-test of the mean Fisher z, jackknife SE over queries; p (vs random sets): ${c.permutations} label permutations, one-sided`);

  const pl = report.powerLaw;
  out.push('', `2. Power law of the top documents: per-nat score ∝ rank^α (top ≤ ${pl.maxRank} positive)`);
  out.push(...table([['kind', 'fitted', 'α mean ± sd'], ...Object.entries(pl.byKind).map(([k, s]) => [k, String(s.n), meanSd(s, (x) => fixed(x))])]));
  if (pl.test) out.push(`  ${pl.test.a} vs ${pl.test.b} (Welch): t = ${fixed(pl.test.t, 2)}, df = ${fixed(pl.test.df, 1)}, ${pEquals(pl.test.p)}`);

  const ti = report.totalInfluence.headline;
  out.push('', '3. Total positive influence per nat');
  out.push(
    ...table([
      ['kind', 'all documents', 'top 5%', 'top 5% ÷ all'],
      ...Object.keys(ti.at100).map((k) => [k, meanSd(ti.at100[k], sci), meanSd(ti.at5[k], sci), meanSd(ti.relativeAt5[k], (x) => fixed(x, 2))]),
    ]),
  );
  if (ti.ratio100 !== null || ti.ratio5 !== null) {
    const test = ti.test100 ? ` (Welch ${pEquals(ti.test100.p)})` : '';
    out.push(`  factual ÷ reasoning: ${fixed(ti.ratio100, 2)}× over all documents${test}, ${fixed(ti.ratio5, 2)}× in the top 5%`);
  }

  const a = report.answers;
  out.push('', '4. Answer in the top k documents (share of queries with an answer; of correct completions in brackets)');
  if (!a.available) out.push(`  skipped: ${a.reason}`);
  else {
    out.push(
      ...table([
        ['kind', 'queries', ...a.ks.map((k) => `k=${k}`)],
        ...Object.entries(a.byKind).map(([k, s]) => [
          k,
          `${s.queries} (${s.correct})`,
          ...a.ks.map((_, j) => `${percent(s.hitRate[j])} (${percent(s.hitRateCorrect[j])})`),
        ]),
      ]),
    );
    const withSteps = Object.entries(a.byKind).filter(([, s]) => s.steps);
    for (const [k, s] of withSteps)
      out.push(`  ${k} step answers (${s.steps!.steps}): ${a.ks.map((kk, j) => `k=${kk} ${percent(s.steps!.hitRate[j])}`).join(', ')}`);
    if (a.missingTexts) out.push(`  note: ${a.missingTexts} top documents had no text (corpus changed or missing?)`);
  }

  const s = report.sources;
  out.push('', `5. Source over-representation (share in the top k ÷ share in the corpus; the ${top} largest)`);
  // The largest sources only: a corpus with thousands of labels made this one line of half a megabyte.
  const listed = s.sources.slice(0, MAX_LISTED_SOURCES).map((x) => `${label(x.source)} ${percent(x.share)}`);
  const rest = s.sources.slice(MAX_LISTED_SOURCES);
  const others = rest.length + (s.other?.sources ?? 0);
  const otherShare = rest.reduce((sum, x) => sum + x.share, s.other?.share ?? 0);
  if (others) listed.push(`${others.toLocaleString('en-US')} other sources ${percent(otherShare)}`);
  out.push(`  corpus: ${listed.join(', ')}`);
  if (s.ks.length === 0) out.push('  skipped: too few documents');
  else {
    const rows: string[][] = [['kind', 'k', 'top k', 'bottom k']];
    for (const [kind, g] of Object.entries(s.byKind)) {
      s.ks.forEach((k, j) => {
        const best = (which: 'top' | 'bottom') =>
          Object.entries(g[which])
            .filter(([, v]) => v[j] !== null)
            .sort((x, y) => (y[1][j] as number) - (x[1][j] as number) || (x[0] < y[0] ? -1 : 1))
            .slice(0, top)
            .map(([src, v]) => `${label(src)} ×${fixed(v[j], 1)}`)
            .join('  ');
        rows.push([j === 0 ? kind : '', String(k), best('top'), best('bottom')]);
      });
    }
    out.push(...table(rows));
  }
  out.push(...findingsText(report.findings ?? []));
  return out.join('\n') + '\n';
}
