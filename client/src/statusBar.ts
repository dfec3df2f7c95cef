/** The status bar item: the compute backend at a glance, the reason and the model in its tooltip. */
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';
import type { Ctx } from './ctx';

const ICONS: Record<StatusParams['state'], string> = {
  starting: '$(loading~spin)',
  'loading-model': '$(loading~spin)',
  ready: '$(pulse)',
  error: '$(error)',
};

export class StatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('influenceLens.status', vscode.StatusBarAlignment.Left);
  private readonly subscription: vscode.Disposable;

  constructor(ctx: Ctx) {
    this.item.name = 'Influence Lens';
    this.item.command = 'influenceLens.showBackend';
    this.subscription = ctx.onDidChangeStatus((s) => this.update(s));
    this.update(ctx.status);
    this.item.show();
  }

  update(status: StatusParams): void {
    const backend = status.backend ? `: ${status.backend.name}${status.backend.adapter?.software ? ' (software)' : ''}` : '';
    const job = status.job ? ` $(sync~spin) ${status.job.percentage !== undefined ? `${Math.round(status.job.percentage)}%` : ''}` : '';
    this.item.text = `${ICONS[status.state]} Influence Lens${backend}${job}`;
    const error = status.state === 'error';
    this.item.backgroundColor = error ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
    this.item.color = error ? new vscode.ThemeColor('statusBarItem.errorForeground') : undefined;
    const tooltip = new vscode.MarkdownString();
    // appendText escapes Markdown: paths and messages come from settings and files.
    for (const line of describeStatus(status)) tooltip.appendText(line).appendMarkdown('  \n');
    this.item.tooltip = tooltip;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

/** The status as plain lines of text (status bar tooltip, information message). */
export function describeStatus(status: StatusParams): string[] {
  const lines = [status.message];
  if (status.backend) {
    const threads = status.backend.threads ? `, ${status.backend.threads} compute thread(s)` : '';
    lines.push(`Backend: ${status.backend.name} (${status.backend.reason}${threads})`);
    const adapter = status.backend.adapter;
    if (adapter) lines.push(`Adapter: ${adapter.description}${adapter.software ? ' (software: correct but slow)' : ''}`);
  }
  if (status.model) {
    const m = status.model;
    lines.push(
      `Model: ${m.path} (${m.format}, ${m.architecture}, ${m.parameters.toLocaleString('en-US')} parameters, ` + `${m.layers} layers, d_model ${m.dim})`,
    );
  } else if (status.modelPath) {
    lines.push(`Model: ${status.modelPath} (not loaded)`);
  } else {
    lines.push('Model: none (set influenceLens.model, or run "Influence Lens: Open Demo")');
  }
  for (const [name, a] of [
    ['Corpus', status.corpus],
    ['Factors', status.factors],
    ['Index', status.index],
  ] as const) {
    if (a && a.state !== 'none') lines.push(`${name}: ${a.state}${a.path ? ` — ${a.path}` : ''}${a.detail ? ` (${a.detail})` : ''}`);
  }
  if (status.job) lines.push(`Running: ${status.job.title}${status.job.message ? ` — ${status.job.message}` : ''}`);
  if (status.trusted === false) lines.push('Workspace not trusted: nothing is loaded from the workspace');
  return lines;
}
