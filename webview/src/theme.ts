/**
 * Chart colours from the editor's theme: the --vscode-* variables VS Code sets on the page (light, dark,
 * high contrast), read when charts are drawn and again whenever the theme changes. The report defines
 * the same variables itself (themes.css).
 */

export interface Theme {
  foreground: string;
  muted: string;
  background: string;
  grid: string;
  /** Helpful (positive) and harmful (negative) influence. */
  positive: string;
  negative: string;
  /** Highlights (fitted lines, keyboard cursor). */
  accent: string;
  /** Distinct series colours (kinds, sources). */
  series: string[];
  fontFamily: string;
  fontSize: number;
  highContrast: boolean;
}

function variable(style: CSSStyleDeclaration, name: string, fallback: string): string {
  return style.getPropertyValue(name).trim() || fallback;
}

export function readTheme(): Theme {
  const s = getComputedStyle(document.body);
  const v = (name: string, fallback: string) => variable(s, `--vscode-${name}`, fallback);
  const foreground = v('foreground', '#333333');
  const series = [
    v('charts-blue', '#1a85ff'),
    v('charts-orange', '#d18616'),
    v('charts-green', '#388a34'),
    v('charts-purple', '#652d90'),
    v('charts-yellow', '#bf8803'),
    v('charts-red', '#e51400'),
  ];
  return {
    foreground,
    muted: v('descriptionForeground', foreground),
    background: v('editor-background', '#ffffff'),
    grid: v('charts-lines', v('panel-border', 'rgba(128, 128, 128, 0.35)')),
    positive: v('charts-blue', '#1a85ff'),
    negative: v('charts-red', '#e51400'),
    accent: v('charts-yellow', '#bf8803'),
    series,
    fontFamily: v('font-family', 'sans-serif'),
    fontSize: parseFloat(v('font-size', '13')) || 13,
    highContrast: document.body.classList.contains('vscode-high-contrast'),
  };
}

/** The paper's kinds keep their colours whatever else is present. */
const KIND_COLOURS: Record<string, number> = { factual: 0, reasoning: 1, control: 2 };

export function kindColour(theme: Theme, kind: string, kinds: readonly string[]): string {
  const fixed = KIND_COLOURS[kind];
  if (fixed !== undefined) return theme.series[fixed];
  const others = kinds.filter((k) => KIND_COLOURS[k] === undefined);
  return theme.series[3 + (others.indexOf(kind) % 3)];
}

export type Rgba = [number, number, number, number];

let probe: CanvasRenderingContext2D | null | undefined;

/** Any CSS colour as [r, g, b, a] (the canvas normalises it). */
export function parseColour(css: string): Rgba {
  probe ??= document.createElement('canvas').getContext('2d');
  if (!probe) return [128, 128, 128, 1];
  probe.fillStyle = '#000000';
  probe.fillStyle = css;
  const c = String(probe.fillStyle);
  if (c.startsWith('#')) return [parseInt(c.slice(1, 3), 16), parseInt(c.slice(3, 5), 16), parseInt(c.slice(5, 7), 16), 1];
  const m = c.match(/[\d.]+/g)?.map(Number) ?? [128, 128, 128, 1];
  return [m[0], m[1], m[2], m[3] ?? 1];
}

/** `colour` at opacity `alpha`. */
export function withAlpha(colour: string, alpha: number): string {
  const [r, g, b] = parseColour(colour);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** The colour a fraction t ∈ [0, 1] of the way from a to b. */
export function mix(a: Rgba, b: Rgba, t: number): string {
  const c = (i: number) => Math.round(a[i] + (b[i] - a[i]) * t);
  return `rgb(${c(0)}, ${c(1)}, ${c(2)})`;
}
