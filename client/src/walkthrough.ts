/**
 * The context keys the "Get Started with Influence Lens" walkthrough's steps complete on (package.json,
 * contributes.walkthroughs): each is set from what the server reports, so a step completes when the user
 * has done it, not when a button was pressed. Keys only turn true: a step, once done, stays done.
 */
import { join, sep } from 'node:path';
import * as vscode from 'vscode';
import type { StatusParams } from '../../server/src/protocol';
import type { Ctx } from './ctx';
import { WALKTHROUGH_KEYS } from './walkthroughKeys';

export class WalkthroughKeys implements vscode.Disposable {
  private readonly set = new Set<string>();
  private readonly subscriptions: vscode.Disposable[];
  private readonly demoModel: string;
  /** The demo corpus lives in the server's storage folder (server/src/handlers/demo.ts). */
  private readonly demoCorpora: string;

  constructor(ctx: Ctx) {
    this.demoModel = join(ctx.extensionContext.extensionPath, 'demo', 'model');
    this.demoCorpora = join(ctx.storageDir, 'demo') + sep;
    this.subscriptions = [ctx.onDidChangeStatus((s) => this.status(s)), ctx.onDidAnswerHover(() => this.turnOn(WALKTHROUGH_KEYS.hoverAnswered))];
    this.status(ctx.status);
  }

  private status(s: StatusParams): void {
    if (s.state !== 'ready' || !s.model) return;
    if (s.model.path === this.demoModel) this.turnOn(WALKTHROUGH_KEYS.demoLoaded);
    else if (s.corpus?.state === 'ready' && s.corpus.path && !s.corpus.path.startsWith(this.demoCorpora)) this.turnOn(WALKTHROUGH_KEYS.ownModelLoaded);
  }

  private turnOn(key: string): void {
    if (this.set.has(key)) return;
    this.set.add(key);
    void vscode.commands.executeCommand('setContext', key, true);
  }

  dispose(): void {
    for (const d of this.subscriptions.splice(0)) d.dispose();
  }
}
