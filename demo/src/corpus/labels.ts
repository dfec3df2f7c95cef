/**
 * Ground truth of the demo corpus: what each generated document states (facts: subject, relation,
 * value) and which reasoning procedures it shows (task; code or math; with worked numbers or not).
 *
 * The generators note labels where they write the sentence or code that carries them (`note`). A
 * document is drafted several times when a draft is too long (budget.ts `fit`), and some templates
 * draft several alternatives before picking one, so notes go to the innermost open `draft` and only
 * the kept draft's notes are committed (`keep`). Noting draws nothing from the random streams, so the
 * corpus text is byte for byte what it was before labels existed.
 */
import type { ReasoningTask } from './problems';

export type FactRelation = 'capital' | 'currency' | 'continent' | 'language' | 'calling-code';

export interface FactLabel {
  /** The country's name as countries-list spells it ("France", "Netherlands"). */
  subject: string;
  relation: FactRelation;
  /** The value as written in the document ("Paris", "Euro", "Europe", "French", "+33"). */
  value: string;
}

export interface ProcedureLabel {
  task: ReasoningTask;
  /** Code (a function for the task) or math (templates, prose, threads, lessons, answer lists). */
  form: 'code' | 'math';
  /** Shows how to compute it: a formula, intermediate steps or code (an answer key alone does not). */
  steps: boolean;
  /** Applies it to given numbers with the result computed. */
  worked: boolean;
}

export interface DocumentLabels {
  facts: FactLabel[];
  procedures: ProcedureLabel[];
}

type Note = { fact: FactLabel } | { procedure: ProcedureLabel };

/** Open drafts, innermost last; notes made outside any draft are dropped. */
const drafts: Note[][] = [];

export function note(...notes: Note[]): void {
  drafts[drafts.length - 1]?.push(...notes);
}

export function noteFact(subject: string, relation: FactRelation, value: string): void {
  note({ fact: { subject, relation, value } });
}

export function noteProcedure(task: ReasoningTask, form: 'code' | 'math', o: { steps?: boolean; worked?: boolean } = {}): void {
  note({ procedure: { task, form, steps: o.steps ?? true, worked: o.worked ?? true } });
}

export interface Draft<T> {
  value: T;
  notes: Note[];
}

/** Runs `make` collecting its notes apart: they count only if the draft is kept. */
export function draft<T>(make: () => T): Draft<T> {
  drafts.push([]);
  try {
    return { value: make(), notes: drafts[drafts.length - 1] };
  } finally {
    drafts.pop();
  }
}

/** Keeps a draft: its notes go to the enclosing draft. */
export function keep<T>(d: Draft<T>): T {
  note(...d.notes);
  return d.value;
}

/** Collects the labels of each document a generator writes (one committed draft per document). */
export function collectDocuments(generate: () => string[]): { texts: string[]; labels: DocumentLabels[] } {
  const labels: DocumentLabels[] = [];
  documentSinks.push(labels);
  try {
    const texts = generate();
    if (texts.length !== labels.length) throw new Error(`labels: ${labels.length} labelled documents for ${texts.length} texts`);
    return { texts, labels };
  } finally {
    documentSinks.pop();
  }
}

const documentSinks: DocumentLabels[][] = [];

/** A finished document's kept draft (budget.ts `fit` calls this once per document). */
export function documentDone(d: Draft<string>): string {
  const sink = documentSinks[documentSinks.length - 1];
  if (sink) sink.push(toLabels(d.notes));
  return keep(d);
}

function toLabels(notes: Note[]): DocumentLabels {
  const facts = new Map<string, FactLabel>();
  const procedures = new Map<string, ProcedureLabel>();
  for (const n of notes) {
    if ('fact' in n) facts.set(`${n.fact.subject}\u0000${n.fact.relation}\u0000${n.fact.value}`, n.fact);
    else {
      const key = `${n.procedure.task}\u0000${n.procedure.form}`;
      const old = procedures.get(key);
      // One label per task and form: it shows steps / worked numbers when any part of the document does.
      procedures.set(key, old ? { ...old, steps: old.steps || n.procedure.steps, worked: old.worked || n.procedure.worked } : n.procedure);
    }
  }
  return { facts: [...facts.values()], procedures: [...procedures.values()] };
}

/** Picks one of several drafted alternatives (drawing as rng.pick does) and keeps its notes. */
export function pickDraft<T>(pick: (items: readonly Draft<T>[]) => Draft<T>, alternatives: (() => T)[]): T {
  const drafted = alternatives.map((make) => draft(make));
  return keep(pick(drafted));
}
