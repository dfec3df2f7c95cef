/**
 * chart.js, registered with only the parts the panel draws (tree-shaken by esbuild), themed from the
 * editor's colours, without animation (a chart is complete the moment it is created). Every chart made
 * here is tracked so that a redraw (new view, theme change) destroys the old ones first.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  type ChartConfiguration,
  type ChartType,
  type DefaultDataPoint,
  type Plugin,
  type Tick,
} from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';
import type { Theme } from '../theme';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Filler,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  Tooltip,
  MatrixController,
  MatrixElement,
);

const live = new Set<Chart>();

export function applyTheme(theme: Theme): void {
  const d = Chart.defaults;
  d.color = theme.foreground;
  d.borderColor = theme.grid;
  d.font.family = theme.fontFamily;
  d.font.size = Math.max(11, theme.fontSize - 1);
  d.animation = false;
  d.responsive = true;
  d.maintainAspectRatio = false;
  const tip = d.plugins.tooltip;
  tip.backgroundColor = theme.background;
  tip.titleColor = theme.foreground;
  tip.bodyColor = theme.foreground;
  tip.borderColor = theme.foreground;
  tip.borderWidth = 1;
  d.plugins.legend.labels.boxWidth = 14;
}

export function makeChart<T extends ChartType, D = DefaultDataPoint<T>>(canvas: HTMLCanvasElement, config: ChartConfiguration<T, D>): Chart<T, D> {
  const chart = new Chart(canvas, config);
  live.add(chart as unknown as Chart);
  return chart;
}

export function dropChart(chart: Chart): void {
  live.delete(chart);
  chart.destroy();
}

/** Destroys the charts drawn inside `root` (before it leaves the page). */
export function dropChartsIn(root: Element): void {
  for (const c of [...live]) if (root.contains(c.canvas)) dropChart(c);
}

export function destroyCharts(): void {
  for (const c of live) c.destroy();
  live.clear();
}

/** Log-axis labels: powers of ten only when the axis spans more than two decades, else 1-2-5. */
export function logTickLabel(value: number | string, _index: number, ticks: Tick[]): string {
  const v = Number(value);
  const values = ticks.map((t) => t.value).filter((x) => x > 0);
  const span = Math.log10(Math.max(...values) / Math.min(...values));
  const mantissa = Number((v / Math.pow(10, Math.floor(Math.log10(v) + 1e-9))).toPrecision(3));
  const keep = span > 2 ? mantissa === 1 : [1, 2, 5].includes(mantissa);
  return keep ? String(Number(v.toPrecision(3))) : '';
}

/** A dashed horizontal reference line at y = value (e.g. multiplier 1: "as in the corpus"). */
export function referenceLine(value: number, colour: string): Plugin {
  return {
    id: 'referenceLine',
    afterDatasetsDraw(chart) {
      const y = chart.scales.y?.getPixelForValue(value);
      const area = chart.chartArea;
      if (y === undefined || !Number.isFinite(y) || y < area.top || y > area.bottom) return;
      const ctx = chart.ctx;
      ctx.save();
      ctx.strokeStyle = colour;
      ctx.setLineDash([5, 4]);
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(area.left, y);
      ctx.lineTo(area.right, y);
      ctx.stroke();
      ctx.restore();
    },
  };
}
