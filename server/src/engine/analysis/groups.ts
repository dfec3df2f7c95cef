/**
 * What the analyses share: query labels (kind, task), the order kinds are reported in, and
 * JSON-safe summaries (NaN and ±∞ become null, since JSON has no such numbers).
 */
import type { Summary, TestResult } from '../../common/views';
import { mean, sd } from './stats';

/** The labels of a query that the analyses group by. */
export interface QueryLabel {
  id: string;
  kind: string | null;
  task: string | null;
}

/** Group name of queries without a kind. */
export const UNLABELLED = 'unlabelled';

/** The paper's kinds first, in this order; any others follow alphabetically. */
export const KIND_ORDER = ['factual', 'reasoning', 'control'];

export function kindOf(q: Pick<QueryLabel, 'kind'>): string {
  return q.kind ?? UNLABELLED;
}

/** The kinds present among the queries, in report order. */
export function orderedKinds(labels: readonly QueryLabel[]): string[] {
  const present = new Set(labels.map(kindOf));
  const known = KIND_ORDER.filter((k) => present.has(k));
  const rest = [...present].filter((k) => !KIND_ORDER.includes(k)).sort();
  return [...known, ...rest];
}

/** The (non-null) tasks of the queries of one kind, sorted. */
export function tasksOf(labels: readonly QueryLabel[], kind: string): string[] {
  const tasks = new Set<string>();
  for (const q of labels) if (kindOf(q) === kind && q.task !== null) tasks.add(q.task);
  return [...tasks].sort();
}

/** Indices of the queries of one kind (and, when given, one task). */
export function queriesOf(labels: readonly QueryLabel[], kind: string, task?: string): number[] {
  const out: number[] = [];
  labels.forEach((q, i) => {
    if (kindOf(q) === kind && (task === undefined || q.task === task)) out.push(i);
  });
  return out;
}

/** "kind/task" (or just the kind when the task is null): the key of per-task tables. */
export function taskKey(kind: string, task: string | null): string {
  return task === null ? kind : `${kind}/${task}`;
}

/** A finite number, or null (JSON has no NaN or ∞). */
export function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

/** Mean and sample sd of the finite values. */
export function summarize(values: readonly number[]): Summary {
  const v = values.filter(Number.isFinite);
  return { n: v.length, mean: finite(mean(v)), sd: finite(sd(v)) };
}

export function testResult(t: { t: number; df: number; p: number }): TestResult {
  return { t: finite(t.t), df: finite(t.df), p: finite(t.p) };
}
