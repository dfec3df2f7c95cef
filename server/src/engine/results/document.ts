/**
 * What results.json and an index's documents.json keep of a document: its place, id, source, length and
 * where it came from (a JSONL line or a Parquet row, whichever it has), nothing else it was carried with.
 */
import type { ResultsDocument } from './types';

export function resultsDocument(d: Omit<ResultsDocument, 'exact'>): ResultsDocument {
  const { index, id, source, tokens, file, line, row } = d;
  return { index, id, source, tokens, file, line, ...(row === undefined ? {} : { row }) };
}
