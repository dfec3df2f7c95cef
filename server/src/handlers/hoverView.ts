/**
 * What a hover shows: the completion and its information content, then the most helpful and the most
 * harmful documents (per-nat score, source, id, a snippet with the most influential span in bold), how
 * the answer was computed and how long it took, and links to the panel and the document view.
 */
import { type InfluenceResult, type RankedDocument, SCORE_SECTION, scoreMeaning, type Snippet } from '../engine/api';
import type { Missing } from '../session/warmState';
import { commandLink, score, text } from './markdown';

const TITLE = '**Influence Lens**';

/** `readme`: the link to the README's section on scores (a file URL the server built), when it has one. */
export function influenceMarkdown(r: InfluenceResult, ref: string, o: { indexMissing?: boolean; readme?: string } = {}): string {
  const q = r.query;
  const promptTokens = q.promptTokens.length - 1;
  const cut = q.truncatedFrom ? ` (cut to its last ${promptTokens} of ${q.truncatedFrom - 1} tokens to fit the maximum length)` : '';
  const completion = q.generated ? 'greedy completion' : 'completion';
  const lines = [
    `${TITLE} — which training documents made the model say this`,
    '',
    `Prompt: ${promptTokens} tokens${cut} · ${completion}: “${text(q.completion, 120)}” (${q.completionTokens.length} tokens, ${r.nllNats.toFixed(2)} nats)`,
    '',
  ];
  const section = (title: string, docs: RankedDocument[]) => {
    if (docs.length === 0) return;
    lines.push(
      `**${title}** — influence per nat of the completion`,
      '',
      '| # | score/nat | source | document | most influential span |',
      '|--:|--:|:--|:--|:--|',
    );
    docs.forEach((d, i) => {
      const approx = d.exact ? '' : ' ≈';
      const open = commandLink('open', 'influenceLens.openDocument', [{ ref, document: d.document.index }]);
      lines.push(
        `| ${i + 1} | ${score(d.perNat)}${approx} | ${text(d.document.source || '—', 16)} | ${text(d.document.id, 24)} | ${snippet(d.snippet)} ${open} |`,
      );
    });
    lines.push('');
  };
  section('Most helpful', r.top);
  section('Most harmful', r.bottom);
  if (r.top.length + r.bottom.length > 0)
    lines.push(`${scoreMeaning(r.nllNats)} ${o.readme ? `[README: ${SCORE_SECTION}](${o.readme})` : `(README: “${SCORE_SECTION}”)`}`, '');
  lines.push(`${methodLine(r)} · ${r.documents.length.toLocaleString('en-US')} documents · ${Math.round(r.timings.totalMs)} ms`, '');
  const links = [commandLink('Show in panel', 'influenceLens.showInPanel', [{ ref }])];
  if (o.indexMissing) links.push(commandLink('Build index', 'influenceLens.buildIndex'));
  lines.push(links.join(' · '));
  return lines.join('\n');
}

function methodLine(r: InfluenceResult): string {
  switch (r.method) {
    case 'exact':
      return 'Exact: every document scored (no index)';
    case 'index+rescore': {
      // Candidates from two sources, ranked by the rescoring tier (near-exact); the shown ones scored exactly.
      const c = r.candidates;
      const from = c
        ? ` (${c.sketch.toLocaleString('en-US')} from the gradient sketch, ${c.lexical.toLocaleString('en-US')} by BM25 on the prompt and completion)`
        : '';
      return `From the index: ${(c?.union ?? r.estimated.length).toLocaleString('en-US')} candidates${from} ranked by its low-rank gradients; the scores shown are exact`;
    }
    case 'index':
      return "From the index: its sketch's best candidates scored exactly (the index has no rescoring tier: rebuild it for better candidates)";
  }
}

function snippet(s: Snippet | undefined): string {
  if (!s) return '*(text unavailable)*';
  // "**" must touch the span's first and last characters to be bold: its outer spaces go outside.
  const span = text(s.bold.trim(), 100);
  const lead = /^\s/.test(s.bold) || /\s$/.test(s.before) ? ' ' : '';
  const trail = /\s$/.test(s.bold) || /^\s/.test(s.after) ? ' ' : '';
  return `${text(s.before, 100).trimEnd()}${lead}${span ? `**${span}**` : ''}${trail}${text(s.after, 100).trimStart()}`;
}

/** A hover that says what is missing and links to the command that fixes it. */
export function missingMarkdown(m: Missing): string {
  const fix = m.fix ? `\n\n${commandLink(m.fix.title, m.fix.command)}` : '';
  return `${TITLE}: no influence yet — ${text(m.what, 400)}.${fix}`;
}

/** No index and a corpus too large to score within a hover: say so, and offer both ways forward. */
export function offerMarkdown(documents: string, tokens: number, ref: string): string {
  return [
    `${TITLE}: there is no index yet, and an exact answer needs a pass over the whole corpus (${text(documents)}, about ${tokens.toLocaleString('en-US')} tokens).`,
    '',
    `${commandLink('Score exactly', 'influenceLens.scoreExactly', [{ ref }])} (shown in the panel when done) · ${commandLink('Build index', 'influenceLens.buildIndex')} (then hovers answer at once)`,
  ].join('\n');
}

/** A job is running that the answer needs (a fit, an index build). */
export function waitingMarkdown(what: string): string {
  return `${TITLE}: ${text(what, 300)}. Hovers answer when it is done (progress in the notification).`;
}
