/**
 * What the panel asks for on the webview's behalf: pages of documents, a document opened in the editor,
 * a query's view. The extension wires an implementation over the language server's requests; until then
 * the default answers that the data is not available, and the panel says so.
 */
import type { CardPage, QueryView, Side } from '../../../server/src/protocol';

export interface PanelDataSource {
  /** Cards `offset` … `offset + limit − 1` of one side of the query `ref`. */
  page(ref: string, side: Side, offset: number, limit: number): Promise<CardPage>;
  /** Opens the document (corpus index `docIndex`) of the query `ref` in an editor. */
  openDocument(ref: string, docIndex: number): Promise<void>;
  /** The view of the query `ref` (from the query picker or a heatmap cell). */
  query(ref: string): Promise<QueryView>;
}

const notYet = (what: string) => Promise.reject(new Error(`${what} is not available yet (the server does not serve panel data)`));

export const UNAVAILABLE_DATA_SOURCE: PanelDataSource = {
  page: () => notYet('Paging documents'),
  openDocument: () => notYet('Opening documents'),
  query: () => notYet('Opening queries'),
};
