/**
 * The document view: a corpus document (from a hover's answer) with each token's influence on that
 * answer's query, as read-only text plus per-token values the client draws as colours.
 */
import { InfluenceLensError } from '../engine/api';
import type { DocumentArgs, DocumentInfluenceView } from '../protocol';
import type { AnswerStore } from '../refs';
import { visibleControls } from './markdown';

/** "file:line" for line-based corpora, "file row N" for Parquet (0-based, as pandas and `datasets` count), the file alone otherwise. */
function where(d: { file: string; line?: number; row?: number }): string {
  return `${d.file}${d.line ? `:${d.line}` : d.row !== undefined ? ` row ${d.row}` : ''}`;
}

export async function documentView(answers: AnswerStore, args: DocumentArgs, signal?: AbortSignal): Promise<DocumentInfluenceView> {
  const answer = answers.get(args?.ref);
  const result = answer?.result;
  if (!answer || !result) throw new InfluenceLensError('NOT_FOUND', 'this answer is no longer known to the server; hover the prompt again');
  const document = result.documents.find((d) => d.index === args.document);
  if (!document) throw new InfluenceLensError('NOT_FOUND', `no document #${args.document} in this answer`);
  if (!answer.session)
    throw new InfluenceLensError(
      'NOT_READY',
      'the document view needs the model and factors these results were scored with; load them (settings) and try again',
    );
  const view = await answer.session.documentInfluence(result.query, document, signal);
  const perNat = view.score / result.nllNats;
  const oneLine = (s: string, n: number) => visibleControls(s.replace(/\s+/g, ' ')).slice(0, n);
  const header: string[] = [
    `Influence Lens · document ${oneLine(document.id, 60)} (#${document.index}${document.source ? `, ${oneLine(document.source, 30)}` : ''}) · ${where(document)}`,
    `Query: ${oneLine(result.query.record.prompt, 100)} → ${oneLine(result.query.completion, 60)}   (${result.nllNats.toFixed(2)} nats)`,
    `Influence: ${view.score.toExponential(3)} (${perNat.toExponential(3)} per nat). Each token is coloured by the influence of learning to predict it: green helps the completion, red works against it; hover a token for its value.`,
  ];
  if (!view.original) header.push('The text below is the decoded tokens (the tokenizer does not give the corpus text back exactly).');
  if (view.truncatedChars > 0)
    header.push(`The last ${view.truncatedChars.toLocaleString('en-US')} characters were not scored (past the maximum length); they are shown uncoloured.`);
  header.push('─'.repeat(80));
  const head = header.join('\n') + '\n';
  let scale = 0;
  for (const t of view.tokens) scale = Math.max(scale, Math.abs(t.value));
  return {
    title: `${document.id} — influence`,
    text: head + view.text,
    header,
    tokens: view.tokens.map((t) => ({ start: t.start + head.length, end: t.end + head.length, value: t.value })),
    scale,
    score: view.score,
    perNat,
  };
}
