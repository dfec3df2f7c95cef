/**
 * The Influence Lens side panel (one at a time): hosts the webview built into dist/webview, serves it
 * with a strict CSP, and forwards the server status to it. Charts arrive through the same messages.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { HostToWebview, WebviewToHost } from '../../../webview/src/messages';
import type { Ctx } from '../ctx';

export class InfluencePanel {
  static readonly viewType = 'influenceLens.panel';
  private static current: InfluencePanel | undefined;

  private readonly disposables: vscode.Disposable[] = [];

  static createOrShow(ctx: Ctx): void {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
    if (InfluencePanel.current) {
      InfluencePanel.current.panel.reveal(column);
      return;
    }
    const panel = vscode.window.createWebviewPanel(
      InfluencePanel.viewType,
      'Influence Lens',
      column,
      webviewOptions(ctx.extensionUri),
    );
    InfluencePanel.current = new InfluencePanel(panel, ctx);
  }

  /** A batch's results folder in the panel (charts arrive with the panel work; for now the status view). */
  static async showBatch(ctx: Ctx, results: string): Promise<void> {
    InfluencePanel.createOrShow(ctx);
    void results;
  }

  /** A hover's answer (by the server's ref) in the panel's single-query view. */
  static async showQuery(ctx: Ctx, ref: string): Promise<void> {
    InfluencePanel.createOrShow(ctx);
    void ref;
  }

  /** The query of a query file at a line, in the single-query view. */
  static async showQueryAt(ctx: Ctx, at: { uri: string; line: number }): Promise<void> {
    InfluencePanel.createOrShow(ctx);
    void at;
  }

  /** Restores a panel VS Code kept across a reload (called by the serializer). */
  static revive(panel: vscode.WebviewPanel, ctx: Ctx): void {
    InfluencePanel.current?.dispose();
    panel.webview.options = webviewOptions(ctx.extensionUri);
    InfluencePanel.current = new InfluencePanel(panel, ctx);
  }

  /** Registered once in activate so the panel survives a window reload. */
  static serializer(ctx: Ctx): vscode.WebviewPanelSerializer {
    return {
      deserializeWebviewPanel: async (panel) => InfluencePanel.revive(panel, ctx),
    };
  }

  private constructor(
    private readonly panel: vscode.WebviewPanel,
    private readonly ctx: Ctx,
  ) {
    panel.webview.html = this.html();
    panel.onDidDispose(() => this.dispose(), null, this.disposables);
    panel.webview.onDidReceiveMessage((m: WebviewToHost) => this.receive(m), null, this.disposables);
    ctx.onDidChangeStatus((status) => this.post({ type: 'status', status }), null, this.disposables);
  }

  dispose(): void {
    if (InfluencePanel.current === this) InfluencePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private receive(message: WebviewToHost): void {
    switch (message.type) {
      case 'ready':
        this.post({ type: 'status', status: this.ctx.status });
        break;
    }
  }

  private post(message: HostToWebview): void {
    void this.panel.webview.postMessage(message);
  }

  private html(): string {
    const webview = this.panel.webview;
    const root = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js'));
    const styles = webview.asWebviewUri(vscode.Uri.joinPath(root, 'styles.css'));
    const nonce = randomBytes(16).toString('base64');
    const csp = `default-src 'none'; style-src ${webview.cspSource}; script-src 'nonce-${nonce}';`;
    return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${csp}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link href="${styles.toString()}" rel="stylesheet">
  <title>Influence Lens</title>
</head>
<body>
  <main id="app" aria-live="polite"></main>
  <script nonce="${nonce}" src="${script.toString()}"></script>
</body>
</html>`;
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}
