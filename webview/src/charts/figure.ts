/**
 * A figure: a titled chart with a "Table" toggle that shows the same numbers as an HTML table (the
 * chart's text alternative, reachable by keyboard and screen readers), its controls and a caption.
 * Charts are drawn once the figure is in the document (chart.js measures its container).
 */
import type { Chart } from 'chart.js';
import { el } from '../dom';
import { dropChart } from './setup';
import type { View } from '../views/context';

export interface FigureSpec {
  /** Unique on the page; remembers the table toggle across redraws. */
  id: string;
  title: string;
  /** What the chart shows, one or two sentences (also the canvas's accessible name). */
  summary: string;
  /** Draws into the canvas (called once the canvas is in the document). */
  draw(canvas: HTMLCanvasElement): Chart | void;
  table(): HTMLElement;
  controls?: HTMLElement[];
  /** Extra content under the chart (a legend, a live region). */
  extra?: HTMLElement[];
  size?: 'normal' | 'tall' | 'square';
}

export function figure(spec: FigureSpec, view: View): HTMLElement {
  const root = el('figure', 'figure');
  root.id = spec.id;
  root.dataset.figure = spec.id;
  const header = el('header', 'figure-header');
  const title = el('h3', undefined, spec.title);
  title.id = `${spec.id}-title`;
  const toggle = el('button', 'toggle', 'Table');
  toggle.type = 'button';
  const controls = el('div', 'controls');
  controls.append(...(spec.controls ?? []), toggle);
  header.append(title, controls);
  const body = el('div', 'figure-body');
  root.append(header, body, el('figcaption', 'caption', spec.summary));

  let chart: Chart | void;
  const show = (asTable: boolean) => {
    if (chart) dropChart(chart);
    chart = undefined;
    toggle.setAttribute('aria-pressed', String(asTable));
    toggle.title = asTable ? 'Show the chart' : 'Show the numbers as a table';
    if (asTable) {
      body.className = 'figure-body table-box';
      body.replaceChildren(spec.table());
      return;
    }
    body.className = `figure-body chart-box ${spec.size ?? 'normal'}`;
    const canvas = el('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${spec.title}. ${spec.summary} Press the Table button for the numbers.`);
    body.replaceChildren(canvas, ...(spec.extra ?? []));
    view.afterMount(() => (chart = spec.draw(canvas)));
  };
  toggle.addEventListener('click', () => {
    const asTable = !view.isTable(spec.id);
    view.setTable(spec.id, asTable);
    show(asTable);
    view.flushMounts();
  });
  show(view.isTable(spec.id));
  return root;
}
