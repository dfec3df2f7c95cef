/** How often a query's answer occurs in its top k documents, per kind (the paper: factual often, reasoning almost never). */
import type { BatchView } from '../../../server/src/protocol';
import { el, numberCell, table } from '../dom';
import { count, percent } from '../format';
import { kindColour } from '../theme';
import type { View } from '../views/context';
import { figure } from './figure';
import { makeChart } from './setup';

export function hitRatesFigure(b: BatchView, view: View): HTMLElement {
  const a = b.answers;
  if (!a.available) {
    const box = el('figure', 'figure');
    box.id = 'hit-rates';
    box.append(el('h3', undefined, 'Answers in the top documents'), el('p', 'message', `Not computed: ${a.reason}.`));
    return box;
  }
  const kinds = b.kinds.filter((k) => a.byKind[k]);
  return figure(
    {
      id: 'hit-rates',
      title: 'Answers in the top k documents',
      summary: `Share of each kind's queries with an answer whose answer string occurs in at least one of their top k documents, for k = ${a.ks.map(count).join(', ')}.`,
      draw: (canvas) =>
        makeChart(canvas, {
          type: 'bar',
          data: {
            labels: a.ks.map((k) => `top ${count(k)}`),
            datasets: kinds.map((kind) => ({
              label: `${kind} (${a.byKind[kind].queries} queries)`,
              data: a.byKind[kind].hitRate.map((r) => (r === null ? null : 100 * r)),
              backgroundColor: kindColour(view.theme, kind, b.kinds),
            })),
          },
          options: {
            scales: { y: { min: 0, max: 100, title: { display: true, text: 'queries whose answer is in the top k (%)' } }, x: { grid: { display: false } } },
            plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ${Number(item.raw).toFixed(0)}%` } } },
          },
        }),
      table: () =>
        table(
          'Queries whose answer occurs in their top k documents',
          ['kind', 'k', 'hits', 'hit rate', 'hit rate (correct completions)'],
          kinds.flatMap((kind) => {
            const s = a.byKind[kind];
            return a.ks.map((k, j) => [
              kind,
              count(k),
              `${s.hits[j]} of ${s.queries}`,
              numberCell(percent(s.hitRate[j]), s.hitRate[j]),
              numberCell(`${percent(s.hitRateCorrect[j])} of ${s.correct}`, s.hitRateCorrect[j]),
            ]);
          }),
        ),
    },
    view,
  );
}
