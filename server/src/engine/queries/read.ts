/**
 * Query files: JSONL, one query per line:
 *   {"id": "capital-fr", "prompt": "The capital of France is", "completion": " Paris", "kind": "factual",
 *    "task": "capitals", "answer": "Paris"}
 * Queries are few and written by hand, so unlike the corpus any malformed line is an error
 * (QUERY_FORMAT, with file and line) rather than a skipped line. Blank lines are ignored; keys other
 * than the ones above are ignored (room for notes); null counts as absent for the optional fields.
 */
import { stat } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, fsErrorSentence, jsonSyntaxReason, readFileBounded } from '../util/files';
import { parseInfq } from './infq';
import { QUERY_KINDS, type QueryKind, type QueryRecord } from './types';

function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** Parses the text of a query file (`file` is only used in errors and records). */
export function parseQueries(content: string, file: string): QueryRecord[] {
  const text = content.charCodeAt(0) === 0xfeff ? content.slice(1) : content;
  // LF, CRLF or a lone CR (old Mac files) end a line, as they do for the .infq reader and the editor.
  const lines = text.split(/\r\n|\r|\n/);
  const out: QueryRecord[] = [];
  const seen = new Map<string, number>(); // id → line
  for (let i = 0; i < lines.length; i++) {
    const line = i + 1;
    const raw = lines[i];
    if (raw.trim() === '') continue;
    const fail = (what: string): never => {
      throw new InfluenceLensError('QUERY_FORMAT', `${file}:${line}: ${what}`, { file, line });
    };
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      return fail(`invalid JSON: ${jsonSyntaxReason(e)}`); // never V8's excerpt of the line (a link to a system file)
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return fail(`a query must be a JSON object, not ${typeName(value)}`);
    const obj = value as Record<string, unknown>;
    const optionalString = (key: string): string | undefined => {
      const v = obj[key];
      if (v === undefined || v === null) return undefined;
      if (typeof v !== 'string') return fail(`"${key}" must be a string, not ${typeName(v)}`);
      return v;
    };

    let id: string;
    const rawId = obj.id;
    if (rawId === undefined || rawId === null) id = String(line);
    else if (typeof rawId === 'string' && rawId.trim() !== '') id = rawId;
    else if (typeof rawId === 'number' && Number.isFinite(rawId)) id = String(rawId);
    else return fail(`"id" must be a non-empty string or a number, not ${typeof rawId === 'string' ? 'an empty string' : typeName(rawId)}`);

    if (obj.prompt === undefined || obj.prompt === null) return fail('missing "prompt"');
    const prompt = optionalString('prompt') as string;
    if (prompt.trim() === '') return fail('"prompt" is empty');

    const completion = optionalString('completion');
    if (completion === '') return fail('"completion" is empty (leave it out to use the model\'s own completion)');
    // As in .infq files: a completion of spaces and newlines has nothing to score (its tokens are whitespace).
    if (completion !== undefined && completion.trim() === '')
      return fail(`"completion" is only whitespace (${JSON.stringify(completion)}); leave it out to use the model's own completion`);
    const kindValue = optionalString('kind');
    if (kindValue !== undefined && !(QUERY_KINDS as readonly string[]).includes(kindValue)) {
      return fail(`"kind" must be one of ${QUERY_KINDS.join(', ')}, not ${JSON.stringify(kindValue)}`);
    }
    const task = optionalString('task');
    const answer = optionalString('answer');

    const previous = seen.get(id);
    if (previous !== undefined) return fail(`duplicate id ${JSON.stringify(id)} (also on line ${previous})`);
    seen.set(id, line);

    const q: QueryRecord = { id, prompt, file, line };
    if (completion !== undefined) q.completion = completion;
    if (kindValue !== undefined) q.kind = kindValue as QueryKind;
    if (task !== undefined) q.task = task;
    if (answer !== undefined) q.answer = answer;
    out.push(q);
  }
  if (out.length === 0) throw new InfluenceLensError('QUERY_FORMAT', `${file}: no queries (the file is empty)`, { file });
  return out;
}

/** Whether a path is an .infq query file (docs/QUERIES.md) rather than JSONL. */
export function isInfqPath(path: string): boolean {
  return extname(path).toLowerCase() === '.infq';
}

/** The queries of a query file's text, JSONL or .infq by the file's extension; any error is thrown. */
export function parseQueryText(content: string, file: string): QueryRecord[] {
  if (!isInfqPath(file)) return parseQueries(content, file);
  const { blocks, diagnostics } = parseInfq(content, file);
  const errors = diagnostics.filter((d) => d.severity === 'error');
  if (errors.length > 0) {
    const first = errors[0].range.start.line + 1;
    const list = errors.slice(0, 10).map((d) => `${file}:${d.range.start.line + 1}: ${d.message}`);
    if (errors.length > 10) list.push(`… and ${errors.length - 10} more`);
    throw new InfluenceLensError('QUERY_FORMAT', list.join('\n'), { file, line: first });
  }
  if (blocks.length === 0) throw new InfluenceLensError('QUERY_FORMAT', `${file}: no queries (the file has none)`, { file });
  return blocks.map((b) => b.record);
}

/** Reads a query file (JSONL, or .infq). Errors: NOT_FOUND, IO, QUERY_FORMAT (with file and line; also for invalid UTF-8). */
export async function readQueries(path: string): Promise<QueryRecord[]> {
  const file = resolve(path);
  let st;
  try {
    st = await stat(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new InfluenceLensError('NOT_FOUND', `query file not found: ${file}`, { file, cause: e });
    throw new InfluenceLensError('IO', fsErrorSentence(e, `query file ${file}`), { file, cause: e });
  }
  if (st.isDirectory()) throw new InfluenceLensError('QUERY_FORMAT', `${file}: is a folder, not a query file`, { file });
  return parseQueryText(decodeLines(readFileBounded(file, { what: 'query file', maxBytes: FILE_LIMITS.smallJson }), file), file);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The file as text; invalid UTF-8 is a QUERY_FORMAT error at its line (never silently U+FFFD). */
function decodeLines(bytes: Buffer, file: string): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    let start = 0;
    for (let line = 1; start <= bytes.length; line++) {
      // Lines end as parseQueries counts them: LF, CRLF or a lone CR.
      let end = start;
      while (end < bytes.length && bytes[end] !== 0x0a && bytes[end] !== 0x0d) end++;
      try {
        strictUtf8.decode(bytes.subarray(start, end));
      } catch {
        throw new InfluenceLensError('QUERY_FORMAT', `${file}:${line}: not valid UTF-8 text`, { file, line });
      }
      start = end + (bytes[end] === 0x0d && bytes[end + 1] === 0x0a ? 2 : 1);
    }
    throw new InfluenceLensError('QUERY_FORMAT', `${file}: not valid UTF-8 text`, { file });
  }
}
