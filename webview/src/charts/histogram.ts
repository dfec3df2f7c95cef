/** Histogram of one query's influence over every document (counts on a log axis, harmful bins in the negative colour). */
import type { QueryView } from '../../../server/src/protocol';
import { numberCell, table } from '../dom';
import { count, sig } from '../format';
import type { View } from '../views/context';
import { figure } from './figure';
import { logTickLabel, makeChart } from './setup';

export function unitLabel(unit: QueryView['unit']): string {
  return unit === 'perNat' ? 'per nat' : '(raw; the completion has no positive NLL)';
}

function binLabel(lo: number, hi: number, positive: boolean): string {
  return positive ? `(${sig(lo)}, ${sig(hi)}]` : `[${sig(lo)}, ${sig(hi)})`;
}

export function histogramFigure(q: QueryView, view: View): HTMLElement {
  const h = q.histogram;
  const bins = h.counts.length;
  const positiveBin = (i: number) => i >= bins / 2;
  const centres = h.counts.map((_, i) => (h.edges[i] + h.edges[i + 1]) / 2);
  // Bars at the bin centres on a linear axis (its ticks are round numbers, not bin labels).
  // Every bin in both datasets (y null where it is not theirs), so bars take exactly a bin's width.
  const only = (positive: boolean) => h.counts.map((c, i) => ({ x: centres[i], y: c > 0 && positiveBin(i) === positive ? c : null }));
  const summary =
    `${count(q.documents)} documents binned by influence ${unitLabel(q.unit)}: ${count(h.positive)} helpful (positive), ${count(h.negative)} harmful (negative)` +
    `${h.zero ? `, ${count(h.zero)} exactly zero` : ''}${h.nonFinite ? `, ${count(h.nonFinite)} not finite (left out)` : ''}. Counts on a log scale.`;
  return figure(
    {
      id: `hist-${q.ref}`,
      title: 'Distribution over all documents',
      summary,
      draw: (canvas) =>
        makeChart(canvas, {
          type: 'bar',
          data: {
            datasets: [
              { label: 'harmful (negative)', data: only(false), backgroundColor: view.theme.negative },
              { label: 'helpful (positive)', data: only(true), backgroundColor: view.theme.positive },
            ],
          },
          options: {
            datasets: { bar: { grouped: false, barPercentage: 1, categoryPercentage: 1, borderWidth: 0 } },
            scales: {
              x: {
                type: 'linear',
                title: { display: true, text: `influence ${unitLabel(q.unit)}` },
                ticks: { maxRotation: 0, callback: (v) => sig(Number(v)) },
                grid: { display: false },
              },
              y: {
                type: 'logarithmic',
                min: 0.5,
                title: { display: true, text: 'documents (log scale)' },
                ticks: { callback: (v, i, t) => (Number(v) >= 1 ? logTickLabel(v, i, t) : '') },
              },
            },
            plugins: {
              tooltip: {
                callbacks: {
                  title: (items) => binLabel(h.edges[items[0].dataIndex], h.edges[items[0].dataIndex + 1], positiveBin(items[0].dataIndex)),
                  label: (item) => `${count(Number(item.parsed.y))} documents`,
                },
              },
            },
          },
        }),
      table: () =>
        table(
          `Documents per bin of influence ${unitLabel(q.unit)} (non-empty bins)`,
          ['bin', 'documents'],
          [
            ...h.counts.flatMap((c, i) => (c > 0 ? [[binLabel(h.edges[i], h.edges[i + 1], positiveBin(i)), numberCell(count(c), c)]] : [])),
            ...(h.zero ? [['exactly 0', numberCell(count(h.zero), h.zero)]] : []),
            ...(h.nonFinite ? [['not finite', numberCell(count(h.nonFinite), h.nonFinite)]] : []),
          ],
        ),
    },
    view,
  );
}
