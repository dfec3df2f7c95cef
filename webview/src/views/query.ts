/** One query over the whole corpus: prompt and completion, summary numbers, the three figures, and the cards. */
import type { QueryView } from '../../../server/src/protocol';
import { histogramFigure, unitLabel } from '../charts/histogram';
import { sourceBarsFigure } from '../charts/sourceBars';
import { describeFit, topKFigure } from '../charts/topK';
import { button, el, facts } from '../dom';
import { count, fixed, percent, sig } from '../format';
import { cardsSection } from './cards';
import type { View } from './context';

function methodNote(q: QueryView): string {
  const m = q.method;
  if (!m) return '';
  const parts = [m.scoring === 'index' ? 'scores from the gradient index (estimates)' : 'exact scores (a full corpus pass)'];
  if (m.rerank) parts.push(`top and bottom ${count(m.rerank)} rescored exactly`);
  if (m.strategy) parts.push(m.strategy);
  if (m.rank) parts.push(`rank-${m.rank} queries`);
  return parts.join(' · ');
}

/** What a per-nat score means, in one line; the panel opens the README's section, the report names it. */
function meaningLine(meaning: NonNullable<QueryView['meaning']>, view: View): HTMLElement {
  const p = el('p', 'score-meaning', `${meaning.line} `);
  if (view.host.mode === 'panel') p.append(button(`README: ${meaning.section}`, () => view.host.post({ type: 'explainScores' }), 'link'));
  else p.append(document.createTextNode(`(README: “${meaning.section}”)`));
  return p;
}

function queryText(q: QueryView): HTMLElement {
  const box = el('div', 'query-text');
  const prompt = el('span', 'prompt', q.query.prompt);
  const completion = el('mark', 'completion', q.query.completion);
  completion.title = q.query.generated ? "the model's own greedy completion" : 'the given completion';
  box.append(prompt, completion);
  return box;
}

export function queryView(q: QueryView, view: View): HTMLElement {
  const section = el('section', 'query');
  section.dataset.ref = q.ref;
  const header = el('header', 'view-header');
  const h = el('h2', undefined, `Query ${q.query.id}`);
  header.append(h);
  for (const label of [q.query.kind, q.query.task]) if (label) header.append(el('span', 'badge', label));
  section.append(header, queryText(q));
  const nats = el('span', 'nats', `${fixed(q.query.nllNats, 2)} nats`);
  nats.dataset.value = String(q.query.nllNats);
  const tokens = [
    q.query.promptTokens !== undefined ? `prompt ${count(q.query.promptTokens)} tokens` : '',
    q.query.completionTokens !== undefined ? `completion ${count(q.query.completionTokens)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  const line = el('p', 'query-meta');
  line.append(
    nats,
    document.createTextNode(
      `${tokens ? ` · ${tokens}` : ''}${q.query.generated ? " · the model's own completion" : ''}${q.query.answer ? ` · answer “${q.query.answer}”` : ''}`,
    ),
  );
  section.append(line);
  const note = methodNote(q);
  if (note) section.append(el('p', 'message', note));

  const s = q.summary;
  const fit = el('p', 'headline');
  fit.append(el('span', undefined, 'Power law of the top documents: '));
  const alpha = el('strong', 'alpha', describeFit(q));
  if (q.curve.fit?.alpha !== null && q.curve.fit?.alpha !== undefined) alpha.dataset.value = String(q.curve.fit.alpha);
  fit.append(alpha);
  section.append(fit);
  const u = unitLabel(q.unit);
  section.append(
    facts([
      ['Documents', `${count(q.documents)} (${count(q.histogram.positive)} helpful, ${count(q.histogram.negative)} harmful)`],
      [`Largest ${u}`, `${sig(s.max)} · smallest ${sig(s.min)}`],
      [`Total helpful ${u}`, `${sig(s.totalPositive)} · harmful ${sig(s.totalNegative)}`],
      ['Share of the helpful total', s.topShares.map((t) => `top ${t.percent}% (${count(t.documents)}): ${percent(t.share)}`).join(' · ')],
    ]),
  );
  if (q.meaning) section.append(meaningLine(q.meaning, view));
  const grid = el('div', 'figures');
  grid.append(histogramFigure(q, view), topKFigure(q, view), sourceBarsFigure(q, view));
  section.append(grid);
  const cards = el('div', 'card-columns');
  cards.append(cardsSection(q, 'top', view), cardsSection(q, 'bottom', view));
  section.append(cards);
  return section;
}
