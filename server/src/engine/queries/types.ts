/** Queries: the prompt (+ completion) whose influential training documents we look for. */

export type QueryKind = 'factual' | 'reasoning' | 'control';

export const QUERY_KINDS: readonly QueryKind[] = ['factual', 'reasoning', 'control'];

export interface QueryRecord {
  /** Unique within the file; the 1-based line number when the line has none. */
  id: string;
  prompt: string;
  /** The text whose loss given the prompt is measured; absent: the model's own greedy completion is used. */
  completion?: string;
  kind?: QueryKind;
  /** Group for the analyses (e.g. arithmetic, slopes, linear, a factual topic). */
  task?: string;
  /** The answer string looked for in the top documents. */
  answer?: string;
  /** Absolute path of the query file. */
  file: string;
  /** 1-based line of the query in the file. */
  line: number;
}
