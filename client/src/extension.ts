/** Activation: the context, the status bar, the command table and the panel serializer. */
import * as vscode from 'vscode';
import { restartServer, showBackend, showPanel, type Cmd } from './commands';
import { Ctx } from './ctx';
import { InfluencePanel } from './panel/InfluencePanel';
import { StatusBar } from './statusBar';

const COMMANDS: Record<string, (ctx: Ctx) => Cmd> = {
  'influenceLens.showBackend': showBackend,
  'influenceLens.restartServer': restartServer,
  'influenceLens.showPanel': showPanel,
};

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const c = new Ctx(context);
  ctx = c;
  context.subscriptions.push(c, new StatusBar(c));
  for (const [name, factory] of Object.entries(COMMANDS)) {
    context.subscriptions.push(vscode.commands.registerCommand(name, factory(c)));
  }
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(InfluencePanel.viewType, InfluencePanel.serializer(c)),
  );
  await c.start();
}

export async function deactivate(): Promise<void> {
  const c = ctx;
  ctx = undefined;
  await c?.stop();
}
