/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every few seconds otherwise (logs, CI).
 */
import { formatDuration, type RunProgress } from '../engine/api';

export class ProgressBar {
  private lastDraw = 0;
  private lastLabel = '';
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly enabled = true,
  ) {}

  update(p: RunProgress): void {
    if (!this.enabled) return;
    const now = Date.now();
    const tty = this.stream.isTTY === true;
    const labelChanged = p.stage !== this.lastLabel;
    if (!labelChanged && now - this.lastDraw < (tty ? 100 : 5000) && p.done !== p.total) return;
    if (labelChanged && this.drawn && tty) this.stream.write('\n');
    this.lastDraw = now;
    this.lastLabel = p.stage;
    const line = format(p, tty ? Math.max(10, Math.min(30, (this.stream.columns ?? 80) - 70)) : 20);
    this.stream.write(tty ? `\r${line}\x1b[K` : line + '\n');
    this.drawn = true;
  }

  /** Ends the current line (call before printing anything else). */
  done(): void {
    if (this.enabled && this.drawn && this.stream.isTTY) this.stream.write('\n');
    this.drawn = false;
    this.lastLabel = '';
  }
}

function format(p: RunProgress, width: number): string {
  const seconds = p.elapsedMs / 1000;
  const rate = p.tokens && seconds > 0 ? ` ${Math.round(p.tokens / seconds)} tok/s` : '';
  if (p.total === undefined || p.total === 0) return `${p.stage} ${p.done}${rate} ${seconds.toFixed(0)}s`;
  const frac = Math.min(1, p.done / p.total);
  const filled = Math.round(frac * width);
  const eta = frac > 0 && frac < 1 ? ` ETA ${formatDuration((seconds / frac) * (1 - frac))}` : '';
  return `${p.stage} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${p.done}/${p.total} ${(frac * 100).toFixed(0)}%${rate} ${formatDuration(seconds)}${eta}`;
}
