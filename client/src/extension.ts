/** Activation: the context, the status bar, the command table, the document views and the panel serializer. */
import * as vscode from 'vscode';
import * as c from './commands';
import { Ctx } from './ctx';
import { DocumentViews } from './documentView';
import { InfluencePanel } from './panel/InfluencePanel';
import { serverDataSource } from './panel/serverData';
import { StatusBar } from './statusBar';
import { WalkthroughProgress } from './walkthrough';

const COMMANDS: Record<string, (ctx: Ctx) => c.Cmd> = {
  'influenceLens.showBackend': c.showBackend,
  'influenceLens.restartServer': c.restartServer,
  'influenceLens.showPanel': c.showPanel,
  'influenceLens.showOutput': c.showOutput,
  'influenceLens.scoreSelection': c.scoreSelection,
  'influenceLens.scoreQuery': c.scoreQuery,
  'influenceLens.runBatch': c.runBatch,
  'influenceLens.fitFactors': c.fitFactors,
  'influenceLens.buildIndex': c.buildIndex,
  'influenceLens.cancelJob': c.cancelJob,
  'influenceLens.scoreExactly': c.scoreExactly,
  'influenceLens.showInPanel': c.showInPanel,
  'influenceLens.showQueryInPanel': c.showQueryInPanel,
  'influenceLens.openDocument': c.openDocument,
  'influenceLens.openDemo': c.openDemo,
  'influenceLens.selectModel': c.selectModel,
  'influenceLens.selectCorpus': c.selectCorpus,
  'influenceLens.selectFactors': c.selectFactors,
  'influenceLens.selectBackend': c.selectBackend,
  'influenceLens.convertToInfq': (ctx) => c.convertQueries(ctx, 'infq'),
  'influenceLens.convertToJsonl': (ctx) => c.convertQueries(ctx, 'jsonl'),
};

/** Commands that open the panel: the walkthrough's "Open the panel" step. */
const PANEL_COMMANDS = new Set(['influenceLens.showPanel', 'influenceLens.showInPanel', 'influenceLens.showQueryInPanel']);

let ctx: Ctx | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const x = new Ctx(context);
  ctx = x;
  const walkthrough = new WalkthroughProgress(x);
  context.subscriptions.push(x, new StatusBar(x), new DocumentViews(x), walkthrough);
  for (const [name, factory] of Object.entries(COMMANDS)) {
    const cmd = factory(x);
    const run: c.Cmd = PANEL_COMMANDS.has(name)
      ? async (...args) => {
          await cmd(...args);
          walkthrough.panelOpened();
        }
      : cmd;
    context.subscriptions.push(vscode.commands.registerCommand(name, run));
  }
  InfluencePanel.setDataSource(serverDataSource(x));
  context.subscriptions.push(vscode.window.registerWebviewPanelSerializer(InfluencePanel.viewType, InfluencePanel.serializer(x)));
  await x.start();
}

export async function deactivate(): Promise<void> {
  const x = ctx;
  ctx = undefined;
  await x?.stop();
}
