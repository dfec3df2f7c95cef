/** The sorted top-k curve on log–log axes (helpful and, by magnitude, harmful) with the fitted power law. */
import type { QueryView } from '../../../server/src/protocol';
import { numberCell, table } from '../dom';
import { count, fixed, sig } from '../format';
import type { View } from '../views/context';
import { figure } from './figure';
import { unitLabel } from './histogram';
import { logTickLabel, makeChart } from './setup';

/** "α = −0.351 over the top 500 (R² 0.98)". */
export function describeFit(q: QueryView): string {
  const f = q.curve.fit;
  if (!f || f.alpha === null) return 'no power law fitted (fewer than 5 positive scores)';
  return `α = ${fixed(f.alpha)} over the top ${count(f.points)} (R² ${fixed(f.r2, 2)})`;
}

export function topKFigure(q: QueryView, view: View): HTMLElement {
  const { positive, negative, fit } = q.curve;
  const points = (c: typeof positive) => c.ranks.map((r, i) => ({ x: r, y: c.values[i] }));
  const fitted = fit && fit.alpha !== null && fit.intercept !== null ? { alpha: fit.alpha, c: fit.intercept, n: fit.points } : null;
  const fitLine = fitted
    ? [
        { x: 1, y: Math.exp(fitted.c) },
        { x: fitted.n, y: Math.exp(fitted.c) * Math.pow(fitted.n, fitted.alpha) },
      ]
    : [];
  const summary = `Influence ${unitLabel(q.unit)} of the documents sorted by rank, on log–log axes: ${count(positive.count)} helpful documents and ${count(negative.count)} harmful ones (by magnitude). Power law: ${describeFit(q)}.`;
  return figure(
    {
      id: `topk-${q.ref}`,
      title: 'Top-k curve and power law',
      summary,
      draw: (canvas) =>
        makeChart(canvas, {
          type: 'line',
          data: {
            datasets: [
              {
                label: 'helpful',
                data: points(positive),
                borderColor: view.theme.positive,
                backgroundColor: view.theme.positive,
                borderWidth: 2,
                pointRadius: 0,
              },
              {
                label: 'harmful (|score|)',
                data: points(negative),
                borderColor: view.theme.negative,
                backgroundColor: view.theme.negative,
                borderWidth: 2,
                borderDash: [5, 3],
                pointRadius: 0,
              },
              ...(fitted
                ? [
                    {
                      label: `power law, α = ${fixed(fitted.alpha)}`,
                      data: fitLine,
                      borderColor: view.theme.accent,
                      backgroundColor: view.theme.accent,
                      borderWidth: 2,
                      borderDash: [2, 3],
                      pointRadius: 0,
                    },
                  ]
                : []),
            ],
          },
          options: {
            parsing: false,
            interaction: { mode: 'nearest', intersect: false },
            scales: {
              x: { type: 'logarithmic', title: { display: true, text: 'rank' }, ticks: { callback: logTickLabel, maxRotation: 0 } },
              y: { type: 'logarithmic', title: { display: true, text: `|influence| ${unitLabel(q.unit)}` }, ticks: { callback: logTickLabel } },
            },
            plugins: {
              // Lines in the legend, dashed like theirs (boxes would hide which is which).
              legend: { labels: { usePointStyle: true, pointStyle: 'line', pointStyleWidth: 28 } },
              tooltip: { callbacks: { label: (item) => `${item.dataset.label}: rank ${count(Number(item.parsed.x))}, ${sig(Number(item.parsed.y))}` } },
            },
          },
        }),
      table: () => {
        const byRank = new Map<number, { pos?: number; neg?: number }>();
        positive.ranks.forEach((r, i) => byRank.set(r, { pos: positive.values[i] }));
        negative.ranks.forEach((r, i) => byRank.set(r, { ...byRank.get(r), neg: negative.values[i] }));
        const rows = [...byRank].sort((a, b) => a[0] - b[0]).map(([r, v]) => [count(r), numberCell(sig(v.pos), v.pos), numberCell(sig(v.neg), v.neg)]);
        return table(`Influence ${unitLabel(q.unit)} at sampled ranks. Power law: ${describeFit(q)}`, ['rank', 'helpful', 'harmful (|score|)'], rows);
      },
    },
    view,
  );
}
