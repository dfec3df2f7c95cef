/**
 * The query-file language `influence-queries` (*.infq, docs/QUERIES.md): a readable plain-text form of a
 * query set, with multi-line prompts written as they are.
 *
 *   # a comment
 *   === capital-japan
 *   kind: factual
 *   task: capital
 *   answer: Tokyo
 *   --- prompt
 *   Q: What is the capital of Japan?
 *   A:
 *   --- completion
 *    Tokyo
 *
 * `=== ID` opens a query; `name: value` lines (kind, task, answer) and comments follow; `--- prompt` and
 * the optional `--- completion` take every line up to the next marker verbatim (trailing blank lines
 * excepted); a leading backslash is removed from a text line, so `\=== x` is the text "=== x" and a
 * lone `\` a blank line that is kept. The parser never
 * throws: it returns the queries it could read and a diagnostic with an exact range for each problem.
 */
import { QUERY_KINDS, type QueryKind, type QueryRecord } from './types';

/** 0-based line and character (UTF-16 code units), as LSP ranges. */
export interface TextRange {
  start: { line: number; character: number };
  end: { line: number; character: number };
}

export interface QueryDiagnostic {
  range: TextRange;
  severity: 'error' | 'warning';
  message: string;
  code:
    | 'missing-prompt'
    | 'empty-prompt'
    | 'empty-completion'
    | 'duplicate-id'
    | 'missing-id'
    | 'unknown-kind'
    | 'unknown-field'
    | 'duplicate-field'
    | 'unknown-section'
    | 'outside-query'
    | 'field-after-text';
}

/** Where a query lies in the file (0-based lines), for code lenses, hovers and diagnostics. */
export interface QueryBlock {
  record: QueryRecord;
  /** The `=== ID` line. */
  header: number;
  /** The last line of the block (blank lines after it excluded). */
  end: number;
  /** The prompt's text lines (first, last), when it has any. */
  prompt?: { first: number; last: number };
}

export interface ParsedQueryFile {
  blocks: QueryBlock[];
  diagnostics: QueryDiagnostic[];
}

export const QUERY_FIELDS = ['kind', 'task', 'answer'] as const;
type Field = (typeof QUERY_FIELDS)[number];

const HEADER = /^===(?:\s+(.*?))?\s*$/;
const SECTION = /^---\s*(\S*)\s*$/;
const FIELD = /^([A-Za-z_][\w-]*)\s*:\s?(.*)$/;

interface Draft {
  id: string;
  header: number;
  headerText: string;
  fields: Partial<Record<Field, { value: string; line: number }>>;
  section?: 'prompt' | 'completion';
  prompt?: { marker: number; lines: string[]; first: number };
  completion?: { marker: number; lines: string[]; first: number };
  end: number;
}

/** Parses the text of an .infq file (`file`: the absolute path recorded in each query). */
export function parseInfq(text: string, file: string): ParsedQueryFile {
  // LF, CRLF or a lone CR end a line, as in the editor (LSP positions count lines the same way).
  const lines = (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text).split(/\r\n|\r|\n/);
  const diagnostics: QueryDiagnostic[] = [];
  const blocks: QueryBlock[] = [];
  const seen = new Map<string, number>(); // id → header line
  const lineRange = (line: number, from = 0, to = lines[line]?.length ?? 0): TextRange => ({ start: { line, character: from }, end: { line, character: to } });
  const report = (range: TextRange, code: QueryDiagnostic['code'], message: string, severity: QueryDiagnostic['severity'] = 'error') =>
    diagnostics.push({ range, severity, message, code });
  let draft: Draft | undefined;

  const finish = (d: Draft) => {
    const headerRange = lineRange(d.header);
    if (!d.prompt) return report(headerRange, 'missing-prompt', `query "${d.id}" has no "--- prompt" section`);
    const prompt = sectionText(d.prompt.lines);
    if (prompt.trim() === '') return report(lineRange(d.prompt.marker), 'empty-prompt', `the prompt of query "${d.id}" is empty`);
    const record: QueryRecord = { id: d.id, prompt, file, line: d.header + 1 };
    if (d.completion) {
      const completion = sectionText(d.completion.lines);
      if (completion === '')
        report(
          lineRange(d.completion.marker),
          'empty-completion',
          `the completion of query "${d.id}" is empty (leave the section out to use the model's own completion)`,
        );
      else record.completion = completion;
    }
    for (const f of QUERY_FIELDS) if (d.fields[f] !== undefined) (record as unknown as Record<string, string>)[f] = d.fields[f]!.value;
    const previous = seen.get(d.id);
    if (previous !== undefined) {
      const at = d.headerText.indexOf(d.id);
      return report(lineRange(d.header, at, at + d.id.length), 'duplicate-id', `duplicate id "${d.id}" (also on line ${previous + 1})`);
    }
    seen.set(d.id, d.header);
    const promptLines =
      d.prompt.lines.length > 0 ? { first: d.prompt.first, last: d.prompt.first + sectionText(d.prompt.lines).split('\n').length - 1 } : undefined;
    blocks.push({ record, header: d.header, end: d.end, ...(promptLines ? { prompt: promptLines } : {}) });
  };

  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const header = HEADER.exec(line);
    if (header) {
      if (draft) finish(draft);
      const id = header[1] ?? '';
      draft = { id, header: i, headerText: line, fields: {}, end: i };
      if (id === '') {
        report(lineRange(i), 'missing-id', 'a query needs an id after "==="');
        draft = undefined;
      }
      continue;
    }
    if (!draft) {
      if (line.trim() !== '' && !line.startsWith('#')) report(lineRange(i), 'outside-query', 'text outside a query: start a query with "=== ID"');
      continue;
    }
    const section = SECTION.exec(line);
    if (section) {
      const name = section[1];
      if (name !== 'prompt' && name !== 'completion') {
        report(
          lineRange(i),
          'unknown-section',
          `unknown section "${name}": expected "--- prompt" or "--- completion" (a text line starting with "---" is written "\\---")`,
        );
        continue;
      }
      if (draft[name]) report(lineRange(i), 'duplicate-field', `query "${draft.id}" has a second "--- ${name}" section`);
      draft.section = name;
      draft[name] = { marker: i, lines: [], first: i + 1 };
      draft.end = i;
      continue;
    }
    if (draft.section) {
      draft[draft.section]!.lines.push(line);
      if (line.trim() !== '') draft.end = i;
      continue;
    }
    if (line.trim() === '' || line.startsWith('#')) continue;
    draft.end = i;
    const field = FIELD.exec(line);
    if (!field) {
      report(lineRange(i), 'unknown-field', `expected "name: value" (${QUERY_FIELDS.join(', ')}) or "--- prompt"`);
      continue;
    }
    const [, name, rawValue] = field;
    const value = rawValue.trim();
    const nameRange = lineRange(i, 0, name.length);
    if (!(QUERY_FIELDS as readonly string[]).includes(name)) {
      report(nameRange, 'unknown-field', `unknown field "${name}": expected ${QUERY_FIELDS.join(', ')}`);
      continue;
    }
    if (draft.fields[name as Field]) {
      report(nameRange, 'duplicate-field', `"${name}" is given twice (first on line ${draft.fields[name as Field]!.line + 1})`);
      continue;
    }
    if (name === 'kind' && !(QUERY_KINDS as readonly string[]).includes(value)) {
      const at = line.indexOf(value, name.length + 1);
      report(lineRange(i, at, at + value.length), 'unknown-kind', `unknown kind "${value}": expected ${QUERY_KINDS.join(', ')}`);
      continue;
    }
    draft.fields[name as Field] = { value, line: i };
  }
  if (draft) finish(draft);
  diagnostics.sort((a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character);
  return { blocks, diagnostics };
}

/** A section's raw lines as text: trailing blank lines dropped, escapes removed, joined with newlines. */
function sectionText(lines: string[]): string {
  let n = lines.length;
  while (n > 0 && lines[n - 1].trim() === '') n--;
  return lines
    .slice(0, n)
    .map((l) => (l.startsWith('\\') ? l.slice(1) : l))
    .join('\n');
}

/** Queries written as an .infq file (the inverse of parseInfq for the queries it accepts). */
export function formatInfq(queries: Pick<QueryRecord, 'id' | 'prompt' | 'completion' | 'kind' | 'task' | 'answer'>[]): string {
  // Lines that would read as markers, and blank lines at the end (else dropped), get a leading backslash.
  const escape = (text: string) => {
    const lines = text.split('\n');
    let tail = lines.length;
    while (tail > 0 && lines[tail - 1].trim() === '') tail--;
    return lines.map((l, i) => (i >= tail || HEADER.test(l) || SECTION.test(l) || l.startsWith('\\') ? `\\${l}` : l)).join('\n');
  };
  const out: string[] = ['# Influence Lens queries (docs/QUERIES.md)'];
  for (const q of queries) {
    out.push('', `=== ${q.id}`);
    for (const f of QUERY_FIELDS) if (q[f] !== undefined) out.push(`${f}: ${q[f] as QueryKind | string}`);
    out.push('--- prompt', escape(q.prompt));
    if (q.completion !== undefined) out.push('--- completion', escape(q.completion));
  }
  return out.join('\n') + '\n';
}

/** The block whose lines hold `line` (0-based), if any. */
export function blockAt(parsed: ParsedQueryFile, line: number): QueryBlock | undefined {
  return parsed.blocks.find((b) => line >= b.header && line <= b.end);
}
