/** The command palette's commands, each a small function of the context. */
import * as vscode from 'vscode';
import { BackendInfoRequest } from '../../server/src/protocol';
import type { Ctx } from './ctx';
import { InfluencePanel } from './panel/InfluencePanel';
import { describeStatus } from './statusBar';

export type Cmd = (...args: unknown[]) => unknown;

/** Asks the server which backend it runs on, why, and which model it holds. */
export function showBackend(ctx: Ctx): Cmd {
  return async () => {
    try {
      const status = await ctx.runningClient.sendRequest(BackendInfoRequest.type);
      // Non-modal messages show no `detail`: one line, its parts separated.
      const text = `Influence Lens: ${describeStatus(status).join(' · ')}`;
      if (status.state === 'error') await vscode.window.showErrorMessage(text);
      else await vscode.window.showInformationMessage(text);
    } catch (e) {
      await vscode.window.showErrorMessage(`Influence Lens: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
}

export function restartServer(ctx: Ctx): Cmd {
  return () => ctx.restart();
}

export function showPanel(ctx: Ctx): Cmd {
  return () => InfluencePanel.createOrShow(ctx);
}
