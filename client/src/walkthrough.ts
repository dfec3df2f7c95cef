/**
 * Completes the "Start with Influence Lens" walkthrough's steps (package.json,
 * contributes.walkthroughs) when the user has done each, from what the server reports: context keys for
 * the steps' `onContext` completion events. Keys only turn true: a step, once done, stays done.
 *
 * VS Code creates its walkthrough service only when a walkthrough is first shown, and a step whose key was
 * already true then is never completed (nor is a command run before); so each step is also marked complete
 * through the workbench's own "welcome.markStepComplete" command, which creates the service if needed.
 */
import { join, sep } from 'node:path';
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';
import type { Ctx } from './ctx';
import { WALKTHROUGH_ID, WALKTHROUGH_STEPS, type WalkthroughStep } from './walkthroughKeys';

export class WalkthroughProgress implements vscode.Disposable {
  private readonly done = new Set<WalkthroughStep>();
  private readonly subscriptions: vscode.Disposable[];
  private readonly demoModel: string;
  /** The demo corpus lives in the server's storage folder (server/src/handlers/demo.ts). */
  private readonly demoCorpora: string;

  constructor(private readonly ctx: Ctx) {
    this.demoModel = join(ctx.extensionContext.extensionPath, 'demo', 'model');
    this.demoCorpora = join(ctx.storageDir, 'demo') + sep;
    this.subscriptions = [ctx.onDidChangeStatus((s) => this.status(s)), ctx.onDidAnswerHover(() => this.complete('hoverSelection'))];
    this.status(ctx.status);
  }

  /** The panel was opened (its step also completes on the commands that open it). */
  panelOpened(): void {
    this.complete('openPanel');
  }

  private status(s: StatusParams): void {
    if (s.state !== 'ready' || !s.model) return;
    if (s.model.path === this.demoModel) this.complete('openDemo');
    else if (s.corpus?.state === 'ready' && s.corpus.path && !s.corpus.path.startsWith(this.demoCorpora)) this.complete('ownModel');
  }

  private complete(step: WalkthroughStep): void {
    if (this.done.has(step)) return;
    this.done.add(step);
    const key = WALKTHROUGH_STEPS[step];
    if (key) void vscode.commands.executeCommand('setContext', key, true);
    const id = `${this.ctx.extensionContext.extension.id}#${WALKTHROUGH_ID}#${step}`;
    // A workbench command, not API: where it is missing, the completion events above still apply.
    vscode.commands.executeCommand('welcome.markStepComplete', id).then(undefined, () => undefined);
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
