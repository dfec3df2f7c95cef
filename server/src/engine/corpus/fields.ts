/**
 * Records to documents: the text, id and source fields of one JSON object (a JSONL line) or one Parquet
 * row, named by `--text-field`/`--id-field`/`--source-field`. A name is a key, or a dotted path into
 * nested records (`meta.source`, `messages.0.content`); a key that itself holds dots wins over the path.
 */
import { MAX_DOCUMENT_CHARS, type RawItem } from './types';

export interface FieldNames {
  textField: string;
  idField: string;
  sourceField: string;
}

/** Where a record came from, for its document and its issues. */
export type RecordPlace = { file: string; line: number; row?: undefined } | { file: string; row: number; line?: undefined };

/** A string value whose bytes are not UTF-8 (Parquet): never decoded to U+FFFD, the record is skipped. */
export class NotUtf8 {}

export function typeName(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/** The value at `path` in `record`: the key itself first, then the dotted path (array elements by number). */
export function fieldAt(record: Record<string, unknown>, path: string): unknown {
  if (Object.hasOwn(record, path)) return record[path];
  if (!path.includes('.')) return undefined;
  let at: unknown = record;
  for (const step of path.split('.')) {
    if (Array.isArray(at)) {
      if (!/^\d+$/.test(step)) return undefined;
      at = at[Number(step)];
    } else if (at !== null && typeof at === 'object' && Object.hasOwn(at, step)) {
      at = (at as Record<string, unknown>)[step];
    } else {
      return undefined;
    }
  }
  return at;
}

/**
 * A label field (id or source): strings as they are, finite numbers and integers (Parquet INT64 is a
 * bigint) converted; null, '' and absent give undefined (the caller's default); anything else is an error message.
 */
export function labelField(record: Record<string, unknown>, key: string): string | undefined | { error: string } {
  const v = fieldAt(record, key);
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'bigint') return String(v);
  if (v instanceof NotUtf8) return { error: `"${key}" is not valid UTF-8 text` };
  return { error: `"${key}" is ${typeName(v)}, not a string or number` };
}

/** One record as a document, or the reason it is skipped; `defaultId` when the record has no id. */
export function recordToItem(value: unknown, place: RecordPlace, fields: FieldNames, defaultId: string): RawItem {
  const issue = (reason: string): RawItem => ({ kind: 'issue', issue: { ...place, reason } });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return issue(`not a JSON object (${typeName(value)})`);
  const record = value as Record<string, unknown>;
  const body = fieldAt(record, fields.textField);
  if (body === undefined) return issue(`missing "${fields.textField}" field`);
  if (body instanceof NotUtf8) return issue('not valid UTF-8 text');
  if (typeof body !== 'string') return issue(`"${fields.textField}" is ${typeName(body)}, not a string`);
  if (body.length > MAX_DOCUMENT_CHARS) return issue(`"${fields.textField}" longer than ${MAX_DOCUMENT_CHARS} characters`);
  if (body.trim() === '') return issue(`empty "${fields.textField}"`);
  const id = labelField(record, fields.idField);
  if (typeof id === 'object') return issue(id.error);
  const source = labelField(record, fields.sourceField);
  if (typeof source === 'object') return issue(source.error);
  return { kind: 'doc', id: id ?? defaultId, source: source ?? '', text: body, ...place };
}
