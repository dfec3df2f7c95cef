/**
 * Total helpful influence per nat carried by the top p% of documents, mean ± sd band per kind; absolute,
 * or relative to each query's own total (the paper: factual ≈ 2× reasoning at 100%).
 */
import type { BatchView } from '../../../server/src/protocol';
import { numberCell, select, table } from '../dom';
import { fixed, meanSd, sig } from '../format';
import { kindColour, withAlpha } from '../theme';
import type { View } from '../views/context';
import { figure } from './figure';
import { makeChart } from './setup';

export function totalInfluenceFigure(b: BatchView, view: View): HTMLElement {
  const ti = b.totalInfluence;
  const relative = view.state.relative ?? false;
  const which = relative ? 'relative' : 'absolute';
  const kinds = b.kinds.filter((k) => ti.byKind[k]);
  const yTitle = relative ? "share of the query's total helpful influence" : 'summed helpful influence per nat';
  const mode = select(
    'Show',
    [
      { value: 'absolute', label: 'absolute (per nat)' },
      { value: 'relative', label: 'relative to the total' },
    ],
    which,
    (v) => {
      view.update({ relative: v === 'relative' });
      view.rerender();
    },
    'total-influence-mode',
  );
  const ratio =
    ti.ratio100 === null
      ? ''
      : ` Factual ÷ reasoning at 100%: ${fixed(ti.ratio100, 2)}${ti.test100?.p != null ? ` (Welch t-test p = ${sig(ti.test100.p, 2)})` : ''}.`;
  return figure(
    {
      id: 'total-influence',
      title: 'Total influence per nat vs top-k percentile',
      summary: `For each kind, the mean (line) ± one sd (band) over its queries of the helpful influence per nat in the top p% of documents, ${relative ? 'as a share of each query’s total' : 'summed'}.${ratio}`,
      controls: [mode],
      draw: (canvas) =>
        makeChart(canvas, {
          type: 'line',
          data: {
            datasets: kinds.flatMap((kind) => {
              const s = ti.byKind[kind][which];
              const colour = kindColour(view.theme, kind, b.kinds);
              const band = (sign: number) => ti.percents.map((p, i) => ({ x: p, y: s[i].mean === null ? null : s[i].mean! + sign * (s[i].sd ?? 0) }));
              return [
                { label: `${kind} − sd`, data: band(-1), borderWidth: 0, pointRadius: 0, fill: false, borderColor: 'transparent' },
                {
                  label: `${kind} + sd`,
                  data: band(1),
                  borderWidth: 0,
                  pointRadius: 0,
                  fill: '-1',
                  backgroundColor: withAlpha(colour, 0.2),
                  borderColor: 'transparent',
                },
                {
                  label: kind,
                  data: ti.percents.map((p, i) => ({ x: p, y: s[i].mean })),
                  borderColor: colour,
                  backgroundColor: colour,
                  borderWidth: 2,
                  pointRadius: 2,
                },
              ];
            }),
          },
          options: {
            scales: {
              x: { type: 'linear', min: 0, max: 100, title: { display: true, text: 'top-k percentile (% of documents)' } },
              y: { title: { display: true, text: yTitle }, ...(relative ? { min: 0, max: 1 } : {}) },
            },
            plugins: {
              legend: { labels: { filter: (item) => kinds.includes(item.text) } },
              tooltip: {
                filter: (item) => kinds.includes(item.dataset.label ?? ''),
                callbacks: { label: (item) => `${item.dataset.label}: ${sig(Number(item.parsed.y))}` },
              },
            },
          },
        }),
      table: () =>
        table(
          `${yTitle}, mean ± sd per kind`,
          ['top %', ...kinds],
          ti.percents.map((p, i) => [`${p}%`, ...kinds.map((k) => numberCell(meanSd(ti.byKind[k][which][i]), ti.byKind[k][which][i].mean))]),
        ),
    },
    view,
  );
}
