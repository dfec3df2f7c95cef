/**
 * Ground-truth labels for evaluating attributions (docs/EVALUATION.md): per document, the facts it states
 * and the procedures it shows; per query, the fact it asks for or the procedure it needs. JSONL, one
 * record per line (the demo writes demo/data/labels.jsonl beside its corpus):
 *
 *   {"document": ID, "facts": [{"subject", "relation", "value"}], "procedures": [{"task", "form", "steps", "worked"}]}
 *   {"query": ID, "fact": {"subject", "relation", "value"}}      or      {"query": ID, "procedure": TASK}
 *
 * Labels are few and machine-written, so any malformed line is an error naming file and line.
 */
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, jsonSyntaxReason, readTextBounded } from '../util/files';

export interface Fact {
  subject: string;
  relation: string;
  value: string;
}

export interface Procedure {
  task: string;
  /** "code" or "math". */
  form: string;
  /** Shows how to compute it (formula, steps or code). */
  steps: boolean;
  /** Applies it to given numbers. */
  worked: boolean;
}

export interface DocumentLabels {
  facts: Fact[];
  procedures: Procedure[];
}

export interface QueryLabels {
  fact?: Fact;
  procedure?: string;
}

export interface Labels {
  /** By document id. */
  documents: Map<string, DocumentLabels>;
  /** By query id. */
  queries: Map<string, QueryLabels>;
}

export function sameFact(a: Fact, b: Fact): boolean {
  return a.subject === b.subject && a.relation === b.relation && a.value === b.value;
}

export function readLabels(file: string): Labels {
  // A regular file of bounded size, errors as sentences naming it (never Node's raw message).
  return parseLabels(readTextBounded(file, { what: 'labels file', maxBytes: FILE_LIMITS.largeJson }), file);
}

export function parseLabels(text: string, file: string): Labels {
  const out: Labels = { documents: new Map(), queries: new Map() };
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const fail = (what: string): never => {
      throw new InfluenceLensError('LABELS_FORMAT', `${file}:${line}: ${what}`, { file, line });
    };
    let v: Record<string, unknown>;
    try {
      v = JSON.parse(raw) as Record<string, unknown>;
    } catch (e) {
      return fail(`invalid JSON: ${jsonSyntaxReason(e)}`); // never V8's excerpt of the line
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return fail('a label must be a JSON object');
    const fact = (x: unknown, where: string): Fact => {
      const f = x as Record<string, unknown> | null;
      if (typeof f !== 'object' || f === null || !['subject', 'relation', 'value'].every((k) => typeof f[k] === 'string')) {
        return fail(`${where} must be {"subject", "relation", "value"} strings`);
      }
      return { subject: f.subject as string, relation: f.relation as string, value: f.value as string };
    };
    if (typeof v.document === 'string') {
      if (out.documents.has(v.document)) fail(`document ${v.document} is labelled twice`);
      const facts = Array.isArray(v.facts) ? v.facts.map((f, j) => fact(f, `facts[${j}]`)) : fail('"facts" must be an array');
      const procedures = Array.isArray(v.procedures)
        ? v.procedures.map((p, j) => {
            const o = p as Record<string, unknown> | null;
            if (typeof o !== 'object' || o === null || typeof o.task !== 'string' || typeof o.form !== 'string') {
              return fail(`procedures[${j}] must have "task" and "form" strings`);
            }
            return { task: o.task, form: o.form, steps: o.steps !== false, worked: o.worked !== false };
          })
        : fail('"procedures" must be an array');
      out.documents.set(v.document, { facts, procedures });
    } else if (typeof v.query === 'string') {
      if (out.queries.has(v.query)) fail(`query ${v.query} is labelled twice`);
      const q: QueryLabels = {};
      if (v.fact !== undefined) q.fact = fact(v.fact, '"fact"');
      if (v.procedure !== undefined) q.procedure = typeof v.procedure === 'string' ? v.procedure : fail('"procedure" must be a string');
      out.queries.set(v.query, q);
    } else fail('a label needs "document" or "query" (a string id)');
  });
  return out;
}
