/**
 * The ground-truth file written beside the corpus (demo/data/labels.jsonl), read by `influence-lens eval`:
 *
 *   {"document": "wiki-0001", "facts": [{"subject": "France", "relation": "capital", "value": "Paris"}],
 *    "procedures": [{"task": "slopes", "form": "math", "steps": true, "worked": true}]}   one per document
 *   {"query": "fact-capital-fr", "fact": {"subject": "France", "relation": "capital", "value": "Paris"}}
 *   {"query": "reason-slopes-01", "procedure": "slopes"}                                 one per query
 *
 * Documents in corpus order; the corpus itself is unchanged (its lines carry no labels).
 */
import type { DemoQueryInfo } from '../queries';
import type { LabelledDocument } from './generate';
import type { FactRelation } from './labels';

export function labelsJsonl(docs: readonly LabelledDocument[], queries: readonly DemoQueryInfo[]): string {
  const lines = docs.map((d) => JSON.stringify({ document: d.id, facts: d.labels.facts, procedures: d.labels.procedures }));
  for (const q of queries) {
    if (q.kind === 'factual' && q.country) {
      lines.push(JSON.stringify({ query: q.id, fact: { subject: q.country.name, relation: q.task as FactRelation, value: q.answer } }));
    } else if (q.kind === 'reasoning') {
      lines.push(JSON.stringify({ query: q.id, procedure: q.task }));
    }
  }
  return lines.join('\n') + '\n';
}
