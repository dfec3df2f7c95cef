/**
 * The Influence Lens side panel (one at a time): hosts the webview built into dist/webview under a strict
 * CSP, forwards the server status to it (its empty screen), shows query and batch views, and answers the
 * webview's requests through a PanelDataSource. The webview keeps what it shows with setState, so the
 * panel survives being hidden and a window reload (serializer) without the host resending anything.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import type { BatchView, QueryView } from '../../../server/src/protocol';
import type { HostToWebview, WebviewToHost } from '../../../webview/src/messages';
import type { Ctx } from '../ctx';
import { UNAVAILABLE_DATA_SOURCE, type PanelDataSource } from './dataSource';
import { panelHtml } from './html';
import { openScoreSection } from './scoreSection';

export class InfluencePanel {
  static readonly viewType = 'influenceLens.panel';
  private static current: InfluencePanel | undefined;
  private static dataSource: PanelDataSource = UNAVAILABLE_DATA_SOURCE;

  private readonly disposables: vscode.Disposable[] = [];
  /** Messages the webview could not take (hidden, or still loading), delivered on its next 'ready'. */
  private pending: HostToWebview[] = [];

  /** Where pages, documents and queries come from (the extension sets it once the server serves them). */
  static setDataSource(source: PanelDataSource): void {
    InfluencePanel.dataSource = source;
  }

  static createOrShow(ctx: Ctx): InfluencePanel {
    const column = vscode.window.activeTextEditor ? vscode.ViewColumn.Beside : vscode.ViewColumn.One;
    if (InfluencePanel.current) {
      InfluencePanel.current.panel.reveal(column);
      return InfluencePanel.current;
    }
    const panel = vscode.window.createWebviewPanel(InfluencePanel.viewType, 'Influence Lens', column, webviewOptions(ctx.extensionUri));
    InfluencePanel.current = new InfluencePanel(panel, ctx);
    return InfluencePanel.current;
  }

  static showQuery(ctx: Ctx, view: QueryView): void {
    InfluencePanel.createOrShow(ctx).post({ type: 'showQuery', view });
  }

  static showBatch(ctx: Ctx, view: BatchView): void {
    InfluencePanel.createOrShow(ctx).post({ type: 'showBatch', view });
  }

  /** Restores a panel VS Code kept across a reload (called by the serializer); the webview restores its own state. */
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
    panel.webview.onDidReceiveMessage((m: WebviewToHost) => void this.receive(m), null, this.disposables);
    ctx.onDidChangeStatus((status) => this.post({ type: 'status', status }), null, this.disposables);
  }

  dispose(): void {
    if (InfluencePanel.current === this) InfluencePanel.current = undefined;
    for (const d of this.disposables.splice(0)) d.dispose();
    this.panel.dispose();
  }

  private async receive(message: WebviewToHost): Promise<void> {
    const source = InfluencePanel.dataSource;
    try {
      switch (message.type) {
        case 'ready': {
          const pending = this.pending;
          this.pending = [];
          this.post({ type: 'status', status: this.ctx.status });
          for (const m of pending) this.post(m);
          break;
        }
        case 'requestPage':
          this.post({ type: 'documentsPage', page: await source.page(message.ref, message.side, message.offset, message.limit) });
          break;
        case 'openDocument':
          await source.openDocument(message.ref, message.docIndex);
          break;
        case 'openQuery':
          this.post({ type: 'showQuery', view: await source.query(message.ref) });
          break;
        case 'openQueries': {
          const [a, b] = await Promise.all(message.refs.map((ref) => source.query(ref)));
          this.post({ type: 'showQueries', views: [a, b] });
          break;
        }
        case 'explainScores':
          await openScoreSection(this.ctx.extensionUri);
          break;
        case 'copyId':
          await vscode.env.clipboard.writeText(message.id);
          this.post({ type: 'notice', level: 'info', message: `Copied ${message.id}` });
          break;
      }
    } catch (e) {
      this.post({ type: 'notice', level: 'error', message: e instanceof Error ? e.message : String(e) });
    }
  }

  private post(message: HostToWebview): void {
    this.panel.webview.postMessage(message).then(
      (delivered) => delivered || this.keep(message),
      () => this.keep(message),
    );
  }

  /** Keeps an undelivered message for the next 'ready' (only the latest of each kind of view matters). */
  private keep(message: HostToWebview): void {
    if (message.type === 'status') return; // 'ready' sends the current one
    this.pending = [...this.pending.filter((m) => m.type !== message.type), message];
  }

  private html(): string {
    const webview = this.panel.webview;
    const root = vscode.Uri.joinPath(this.ctx.extensionUri, 'dist', 'webview');
    return panelHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'main.js')).toString(),
      stylesUri: webview.asWebviewUri(vscode.Uri.joinPath(root, 'styles.css')).toString(),
      nonce: randomBytes(16).toString('base64'),
    });
  }
}

function webviewOptions(extensionUri: vscode.Uri): vscode.WebviewOptions & vscode.WebviewPanelOptions {
  return {
    enableScripts: true,
    localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist', 'webview')],
  };
}
