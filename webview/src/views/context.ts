/** What every view is given: the theme, the state (kept with setState), the host, and the render hooks. */
import type { Host } from '../host';
import type { WebviewState } from '../messages';
import type { Theme } from '../theme';

export interface View {
  readonly theme: Theme;
  readonly host: Host;
  readonly state: WebviewState;
  /** Merges into the state and keeps it (getState/setState). */
  update(patch: Partial<WebviewState>): void;
  /** Runs `fn` once the DOM being built is in the document (charts measure their container). */
  afterMount(fn: () => void): void;
  flushMounts(): void;
  isTable(figureId: string): boolean;
  setTable(figureId: string, shown: boolean): void;
  /** Redraws the whole screen (after a choice that changes several figures). */
  rerender(): void;
}
