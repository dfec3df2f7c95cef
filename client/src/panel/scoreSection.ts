/** Opens the shipped README at its section on what a score means (the panel's "README: What a score means"). */
import * as vscode from 'vscode';
import { scoreSectionLine } from '../../../server/src/protocol';

export async function openScoreSection(extensionUri: vscode.Uri): Promise<void> {
  const readme = vscode.Uri.joinPath(extensionUri, 'README.md');
  const doc = await vscode.workspace.openTextDocument(readme);
  const at = new vscode.Position(scoreSectionLine(doc.getText()) ?? 0, 0);
  const editor = await vscode.window.showTextDocument(doc, { preview: true, selection: new vscode.Range(at, at) });
  editor.revealRange(new vscode.Range(at, at), vscode.TextEditorRevealType.AtTop);
}
