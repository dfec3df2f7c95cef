/** Source multipliers vs k (log–log) for one kind, among its top or its bottom k documents: one line per source. */
import type { BatchView } from '../../../server/src/protocol';
import { numberCell, table } from '../dom';
import { count, fixed } from '../format';
import type { View } from '../views/context';
import { figure } from './figure';
import { logTickLabel, makeChart, referenceLine } from './setup';

export function sourceLadderFigure(b: BatchView, kind: string, side: 'top' | 'bottom', view: View): HTMLElement {
  const s = b.sources;
  const group = s.byKind[kind];
  const names = s.sources.map((x) => x.source);
  const values = (name: string) => group?.[side][name] ?? s.ks.map(() => null);
  const label = side === 'top' ? 'most helpful' : 'most harmful';
  // Yellow last: next to orange it is the hardest pair to tell apart.
  const [blue, orange, green, purple, yellow, red] = view.theme.series;
  const sourceColours = [blue, orange, green, purple, red, view.theme.foreground, yellow];
  return figure(
    {
      id: `source-ladder-${side}`,
      title: `Sources among the ${side} k (${kind})`,
      summary: `For the ${kind} queries (mean over ${group?.queries ?? 0}), each source's share among the k ${label} documents ÷ its share in the corpus, for k = ${s.ks.map(count).join(', ')}; log axes, 1 = as in the corpus. A multiplier of 0 (source absent) is not drawn.`,
      draw: (canvas) =>
        makeChart(canvas, {
          type: 'line',
          data: {
            datasets: names.map((name, i) => {
              const colour = sourceColours[i % sourceColours.length];
              return {
                label: name,
                data: s.ks.map((k, j) => ({ x: k, y: (values(name)[j] ?? 0) > 0 ? values(name)[j] : null })),
                borderColor: colour,
                backgroundColor: colour,
                borderDash: i >= sourceColours.length ? [6, 3] : [],
                borderWidth: 2,
                pointRadius: 3,
              };
            }),
          },
          options: {
            scales: {
              x: { type: 'logarithmic', title: { display: true, text: 'k' }, ticks: { callback: logTickLabel } },
              y: { type: 'logarithmic', title: { display: true, text: 'share in k ÷ share in corpus (log)' }, ticks: { callback: logTickLabel } },
            },
            plugins: {
              tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ×${fixed(Number(item.parsed.y), 2)} at k = ${count(Number(item.parsed.x))}` } },
            },
          },
          plugins: [referenceLine(1, view.theme.muted)],
        }),
      table: () =>
        table(
          `Source multipliers among the ${side} k, ${kind} queries`,
          ['source', ...s.ks.map((k) => `k = ${count(k)}`)],
          names.map((name) => [name, ...values(name).map((v) => numberCell(fixed(v, 2), v))]),
        ),
    },
    view,
  );
}
