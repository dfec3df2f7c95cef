/** One query's source over-representation at a chosen k: share among the top (bottom) k ÷ share in the corpus. */
import type { QueryView } from '../../../server/src/protocol';
import { numberCell, select, table } from '../dom';
import { count, fixed, percent } from '../format';
import type { View } from '../views/context';
import { figure } from './figure';
import { dropChartsIn, makeChart, referenceLine } from './setup';

export function sourceBarsFigure(q: QueryView, view: View): HTMLElement {
  const s = q.sources;
  const picked = view.state.k?.[q.ref];
  const k = picked !== undefined && s.ks.includes(picked) ? picked : s.defaultK;
  const j = s.ks.indexOf(k);
  const names = s.sources.map((x) => x.source);
  const at = (side: 'top' | 'bottom') => names.map((n) => s[side][n]?.[j] ?? null);
  const kSelect = select(
    'k',
    s.ks.map((x) => ({ value: x, label: `top/bottom ${count(x)}` })),
    k,
    (value) => {
      view.update({ k: { ...view.state.k, [q.ref]: value } });
      const old = document.getElementById(`sources-${q.ref}`);
      if (!old) return;
      const fresh = sourceBarsFigure(q, view);
      dropChartsIn(old);
      old.replaceWith(fresh);
      view.flushMounts();
      fresh.querySelector('select')?.focus();
    },
  );
  const other = s.otherSources ? ` (the ${count(s.otherSources)} smallest sources as one bar)` : '';
  const summary =
    j < 0
      ? 'Too few documents for a top-k comparison.'
      : `How much more often each source appears among the ${count(k)} most helpful and ${count(k)} most harmful documents than in the corpus (1 = as in the corpus)${other}.`;
  return figure(
    {
      id: `sources-${q.ref}`,
      title: 'Sources among the top and bottom k',
      summary,
      controls: s.ks.length ? [kSelect] : [],
      draw: (canvas) =>
        j < 0
          ? undefined
          : makeChart(canvas, {
              type: 'bar',
              data: {
                labels: names,
                datasets: [
                  { label: `top ${count(k)} (helpful)`, data: at('top'), backgroundColor: view.theme.positive },
                  { label: `bottom ${count(k)} (harmful)`, data: at('bottom'), backgroundColor: view.theme.negative },
                ],
              },
              options: {
                scales: { y: { beginAtZero: true, title: { display: true, text: 'share in top k ÷ share in corpus' } }, x: { grid: { display: false } } },
                plugins: { tooltip: { callbacks: { label: (item) => `${item.dataset.label}: ×${fixed(Number(item.raw), 2)}` } } },
              },
              plugins: [referenceLine(1, view.theme.muted)],
            }),
      table: () =>
        table(
          `Source multipliers at k = ${count(k)}`,
          ['source', 'corpus share', `top ${count(k)}`, `bottom ${count(k)}`],
          s.sources.map((x, i) => [
            x.source,
            numberCell(percent(x.share, 1), x.share),
            numberCell(fixed(at('top')[i], 2), at('top')[i]),
            numberCell(fixed(at('bottom')[i], 2), at('bottom')[i]),
          ]),
        ),
    },
    view,
  );
}
