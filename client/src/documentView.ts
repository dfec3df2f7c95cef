/**
 * The document view: a read-only virtual document (scheme influence-document) showing a corpus document
 * with each token coloured by its influence on a hover's query — green helps, red hurts, opacity scaled to
 * the document's largest |value| — and the exact value in a hover over each token.
 */
import * as vscode from 'vscode';
import { DOCUMENT_SCHEME, DocumentInfluenceRequest, type DocumentArgs, type DocumentInfluenceView } from '../../server/src/protocol';
import type { Ctx } from './ctx';

/** Colour steps (opacity levels) per sign: decorations are few, ranges many. */
const LEVELS = 8;

export function documentUri(a: DocumentArgs): vscode.Uri {
  return vscode.Uri.from({
    scheme: DOCUMENT_SCHEME,
    path: `/document-${a.document}.txt`,
    query: new URLSearchParams({ ref: a.ref, document: String(a.document) }).toString(),
  });
}

function argsOf(uri: vscode.Uri): DocumentArgs {
  const q = new URLSearchParams(uri.query);
  return { ref: q.get('ref') ?? '', document: Number(q.get('document')) };
}

export class DocumentViews implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly views = new Map<string, DocumentInfluenceView>();
  private readonly positive = Array.from({ length: LEVELS }, (_, i) => decoration(true, (i + 1) / LEVELS));
  private readonly negative = Array.from({ length: LEVELS }, (_, i) => decoration(false, (i + 1) / LEVELS));
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly ctx: Ctx) {
    this.disposables.push(
      vscode.workspace.registerTextDocumentContentProvider(DOCUMENT_SCHEME, this),
      vscode.window.onDidChangeVisibleTextEditors((editors) => editors.forEach((e) => this.decorate(e))),
      ...this.positive,
      ...this.negative,
    );
  }

  async provideTextDocumentContent(uri: vscode.Uri, token: vscode.CancellationToken): Promise<string> {
    try {
      const view = await this.ctx.runningClient.sendRequest(DocumentInfluenceRequest.type, argsOf(uri), token);
      this.views.set(uri.toString(), view);
      setTimeout(() => vscode.window.visibleTextEditors.forEach((e) => this.decorate(e)), 0);
      return view.text;
    } catch (e) {
      return `Influence Lens: this document cannot be shown: ${e instanceof Error ? e.message : String(e)}\n`;
    }
  }

  private decorate(editor: vscode.TextEditor): void {
    const view = this.views.get(editor.document.uri.toString());
    if (!view || view.scale <= 0) return;
    const pos: vscode.DecorationOptions[][] = this.positive.map(() => []);
    const neg: vscode.DecorationOptions[][] = this.negative.map(() => []);
    const doc = editor.document;
    for (const t of view.tokens) {
      if (t.value === 0 || t.end <= t.start) continue;
      const level = Math.min(LEVELS - 1, Math.floor((Math.abs(t.value) / view.scale) * LEVELS));
      const range = new vscode.Range(doc.positionAt(t.start), doc.positionAt(t.end));
      const hover = new vscode.MarkdownString();
      hover.appendText(
        `influence ${t.value.toExponential(3)} (${((100 * t.value) / Math.abs(view.score || 1)).toFixed(1)}% of the document's total ${view.score.toExponential(3)})`,
      );
      (t.value > 0 ? pos : neg)[level].push({ range, hoverMessage: hover });
    }
    this.positive.forEach((d, i) => editor.setDecorations(d, pos[i]));
    this.negative.forEach((d, i) => editor.setDecorations(d, neg[i]));
  }

  dispose(): void {
    for (const d of this.disposables.splice(0)) d.dispose();
  }
}

/** A background tint: the theme's diff colours (readable in light, dark and high contrast), at an opacity. */
function decoration(positive: boolean, strength: number): vscode.TextEditorDecorationType {
  const alpha = (0.15 + 0.6 * strength).toFixed(2);
  return vscode.window.createTextEditorDecorationType({
    backgroundColor: positive ? `rgba(46, 160, 67, ${alpha})` : `rgba(248, 81, 73, ${alpha})`,
    border: strength >= 0.75 ? `1px solid ${positive ? 'rgba(46,160,67,0.9)' : 'rgba(248,81,73,0.9)'}` : undefined,
    borderRadius: '2px',
  });
}
