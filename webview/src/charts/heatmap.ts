/**
 * The query × query correlation heatmap (Pearson r of the influence vectors), rows and columns grouped by
 * kind and task. Hovering names the pair and r (also in a live region, for screen readers); a click, or
 * Enter on the keyboard cursor (arrow keys once the heatmap has focus), opens both queries.
 */
import type { ActiveElement, Chart, ChartEvent, Plugin, Scale } from 'chart.js';
import type { BatchQuery, BatchView, HeatmapGroup } from '../../../server/src/protocol';
import { el, numberCell, table } from '../dom';
import { fixed } from '../format';
import { mix, parseColour, withAlpha } from '../theme';
import type { View } from '../views/context';
import { figure } from './figure';
import { makeChart } from './setup';

interface Cell {
  x: number;
  y: number;
  v: number | null;
}

const groupLabel = (g: Pick<HeatmapGroup, 'kind' | 'task'>) => (g.task ? `${g.kind}/${g.task}` : g.kind);

/** Lines between groups: thin between tasks, thick between kinds. */
function separators(groups: readonly HeatmapGroup[], colour: string): Plugin<'matrix'> {
  return {
    id: 'groupSeparators',
    afterDatasetsDraw(chart) {
      const { ctx, chartArea: area, scales } = chart;
      ctx.save();
      ctx.strokeStyle = colour;
      groups.forEach((g, i) => {
        if (i === 0) return;
        ctx.lineWidth = g.kind !== groups[i - 1].kind ? 2 : 0.75;
        const x = scales.x.getPixelForValue(g.start - 0.5);
        const y = scales.y.getPixelForValue(g.start - 0.5);
        ctx.beginPath();
        ctx.moveTo(x, area.top);
        ctx.lineTo(x, area.bottom);
        ctx.moveTo(area.left, y);
        ctx.lineTo(area.right, y);
        ctx.stroke();
      });
      ctx.restore();
    },
  };
}

/** Ticks at the middle of each group, labelled with it. */
function groupTicks(groups: readonly HeatmapGroup[]) {
  return {
    afterBuildTicks: (axis: Scale) => {
      axis.ticks = groups.map((g) => ({ value: g.start + (g.count - 1) / 2 }));
    },
    ticks: {
      autoSkip: false,
      callback: (value: number | string) => {
        const g = groups.find((x) => x.start + (x.count - 1) / 2 === Number(value));
        return g ? groupLabel(g) : '';
      },
    },
    grid: { display: false },
  };
}

export function heatmapFigure(b: BatchView, view: View): HTMLElement {
  const { order, groups, r } = b.heatmap;
  const Q = order.length;
  const at = (i: number): BatchQuery => b.queries[order[i]];
  const kindGroups: HeatmapGroup[] = [];
  for (const g of groups) {
    const last = kindGroups[kindGroups.length - 1];
    if (last?.kind === g.kind) last.count += g.count;
    else kindGroups.push({ kind: g.kind, task: null, start: g.start, count: g.count });
  }
  const data: Cell[] = [];
  for (let y = 0; y < Q; y++) for (let x = 0; x < Q; x++) data.push({ x, y, v: r[y][x] });
  const background = parseColour(view.theme.background);
  const pos = parseColour(view.theme.positive);
  const neg = parseColour(view.theme.negative);
  const colourOf = (v: number | null) =>
    v === null ? withAlpha(view.theme.muted, 0.25) : v >= 0 ? mix(background, pos, Math.min(1, v)) : mix(background, neg, Math.min(1, -v));
  const live = el('p', 'live');
  live.setAttribute('aria-live', 'polite');
  live.textContent = 'Hover over a cell (or focus the heatmap and use the arrow keys) to see the pair and r; click or press Enter to open both queries.';
  const describe = (c: Cell) => {
    const a = at(c.y);
    const q = at(c.x);
    return `${a.id} (${groupLabel(a)}) × ${q.id} (${groupLabel(q)}): r = ${fixed(c.v)}`;
  };
  const open = (c: Cell) => {
    const a = at(c.y).ref;
    const q = at(c.x).ref;
    view.host.post(a === q ? { type: 'openQuery', ref: a } : { type: 'openQueries', refs: [a, q] });
  };
  const legend = el('div', 'scale-legend');
  legend.setAttribute('aria-hidden', 'true');
  legend.append(el('span', undefined, 'r = −1'));
  for (let i = -5; i <= 5; i++) {
    const swatch = el('span', 'swatch');
    swatch.style.backgroundColor = colourOf(i / 5);
    legend.append(swatch);
  }
  legend.append(el('span', undefined, '+1'));

  const draw = (canvas: HTMLCanvasElement): Chart<'matrix', Cell[]> => {
    let cursor = 0;
    const point = (chart: Chart<'matrix', Cell[]>, index: number) => {
      chart.setActiveElements([{ datasetIndex: 0, index }]);
      const cell = chart.getDatasetMeta(0).data[index];
      chart.tooltip?.setActiveElements([{ datasetIndex: 0, index }], { x: cell.x, y: cell.y });
      chart.update();
      live.textContent = describe(data[index]);
    };
    const chart = makeChart<'matrix', Cell[]>(canvas, {
      type: 'matrix',
      data: {
        datasets: [
          {
            label: 'Pearson r',
            data,
            backgroundColor: (ctx) => colourOf((ctx.raw as Cell | undefined)?.v ?? null),
            borderWidth: 0,
            hoverBorderWidth: 2,
            hoverBorderColor: view.theme.foreground,
            width: ({ chart: c }) => (c.chartArea?.width ?? 0) / Q,
            height: ({ chart: c }) => (c.chartArea?.height ?? 0) / Q,
          },
        ],
      },
      options: {
        scales: {
          // Columns are labelled by kind only: task labels of small groups would overlap there.
          x: {
            type: 'linear',
            min: -0.5,
            max: Q - 0.5,
            offset: false,
            position: 'bottom',
            ...groupTicks(kindGroups),
            ticks: { ...groupTicks(kindGroups).ticks, maxRotation: 0 },
          },
          y: { type: 'linear', min: -0.5, max: Q - 0.5, offset: false, reverse: true, ...groupTicks(groups) },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => {
                const c = items[0].raw as Cell;
                return `${at(c.y).id} × ${at(c.x).id}`;
              },
              label: (item) => `r = ${fixed((item.raw as Cell).v)}`,
              afterLabel: (item) => {
                const c = item.raw as Cell;
                return `${groupLabel(at(c.y))} × ${groupLabel(at(c.x))}`;
              },
            },
          },
        },
        onHover: (_e: ChartEvent, active: ActiveElement[]) => {
          if (active.length) live.textContent = describe(data[active[0].index]);
        },
        onClick: (_e: ChartEvent, active: ActiveElement[]) => {
          if (active.length) open(data[active[0].index]);
        },
      },
      plugins: [separators(groups, view.theme.foreground)],
    });
    canvas.tabIndex = 0;
    canvas.addEventListener('focus', () => point(chart, cursor));
    canvas.addEventListener('keydown', (e) => {
      const x = cursor % Q;
      const y = Math.floor(cursor / Q);
      const moves: Record<string, [number, number]> = {
        ArrowLeft: [-1, 0],
        ArrowRight: [1, 0],
        ArrowUp: [0, -1],
        ArrowDown: [0, 1],
        PageUp: [0, -10],
        PageDown: [0, 10],
      };
      if (e.key === 'Enter' || e.key === ' ') {
        open(data[cursor]);
      } else if (moves[e.key]) {
        const [dx, dy] = moves[e.key];
        cursor = Math.max(0, Math.min(Q - 1, y + dy)) * Q + Math.max(0, Math.min(Q - 1, x + dx));
        point(chart, cursor);
      } else return;
      e.preventDefault();
    });
    return chart;
  };

  return figure(
    {
      id: 'heatmap',
      title: 'Query × query correlation',
      summary: `Pearson r between the influence vectors of every pair of the ${Q} queries, grouped by kind and task (thick lines between kinds); colour: positive r in the helpful colour, negative in the harmful colour.`,
      size: 'square',
      draw,
      extra: [legend, live],
      table: () =>
        table(
          'Pearson r between queries (rows and columns in heatmap order)',
          ['query', ...order.map((_, i) => at(i).id)],
          order.map((_, y) => [`${at(y).id} (${groupLabel(at(y))})`, ...order.map((__, x) => numberCell(fixed(r[y][x], 2), r[y][x]))]),
          'data matrix',
        ),
    },
    view,
  );
}
