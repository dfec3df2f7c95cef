/** The panel's data from the language server: views and pages by server-issued refs; documents open in the document view. */
import * as vscode from 'vscode';
import { PanelPageRequest, PanelQueryRequest, type CardPage, type QueryView, type Side } from '../../../server/src/protocol';
import type { Ctx } from '../ctx';
import { documentUri } from '../documentView';
import type { PanelDataSource } from './dataSource';

export function serverDataSource(ctx: Ctx): PanelDataSource {
  return {
    page: (ref: string, side: Side, offset: number, limit: number): Promise<CardPage> =>
      ctx.runningClient.sendRequest(PanelPageRequest.type, { ref, side, offset, limit }),
    query: (ref: string): Promise<QueryView> => ctx.runningClient.sendRequest(PanelQueryRequest.type, { ref }),
    openDocument: async (ref: string, docIndex: number) => {
      const doc = await vscode.workspace.openTextDocument(documentUri({ ref, document: docIndex }));
      await vscode.window.showTextDocument(doc, { preview: true, viewColumn: vscode.ViewColumn.Beside });
    },
  };
}
