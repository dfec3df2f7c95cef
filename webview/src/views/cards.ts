/**
 * The most helpful and most harmful documents as cards, a page at a time. Snippets are untrusted corpus
 * text: they become text nodes (the bold span a <strong> holding a text node), never markup.
 */
import type { CardPage, DocumentCard, QueryView, Side } from '../../../server/src/protocol';
import { button, el } from '../dom';
import { count, sig, signed } from '../format';
import type { View } from './context';

const SIDE_TITLES: Record<Side, string> = { top: 'Most helpful documents', bottom: 'Most harmful documents' };

export const pageKey = (ref: string, side: Side) => `${ref} ${side}`;

function snippet(card: DocumentCard): HTMLElement {
  const p = el('p', 'snippet');
  if (!card.snippet) {
    p.classList.add('missing');
    p.textContent = card.noText ? `No text: ${card.noText}.` : 'No text (the corpus was not available).';
    return p;
  }
  const { before, bold, after } = card.snippet;
  p.append(document.createTextNode(before));
  if (bold) p.append(el('strong', undefined, bold));
  p.append(document.createTextNode(after));
  return p;
}

function cardElement(card: DocumentCard, q: QueryView, view: View): HTMLElement {
  const article = el('article', `card ${card.side}`);
  article.dataset.docIndex = String(card.docIndex);
  const score = card.perNat ?? card.score;
  article.setAttribute(
    'aria-label',
    `Rank ${card.rank}, ${card.side === 'top' ? 'helpful' : 'harmful'}: ${card.id}, ${card.source || 'no source'}, ${signed(score)}`,
  );
  const head = el('header', 'card-header');
  const scoreEl = el('span', 'score', `${signed(score)}${card.perNat !== null ? ' /nat' : ''}`);
  scoreEl.dataset.value = String(score);
  scoreEl.title = `raw ${sig(card.score)}${card.perNat !== null ? `, per nat ${sig(card.perNat)}` : ''}`;
  head.append(el('span', 'rank', `#${count(card.rank)}`), scoreEl);
  if (card.source) head.append(el('span', 'badge', card.source));
  const id = el('code', 'doc-id', card.id);
  head.append(id);
  if (card.exact === false) head.append(el('span', 'approx', 'index estimate'));
  const location = el('div', 'location', card.line !== undefined ? `${card.file}:${card.line}` : card.file);
  const actions = el('div', 'actions');
  actions.append(
    button('Open document', () => view.host.post({ type: 'openDocument', ref: q.ref, docIndex: card.docIndex })),
    button('Copy id', () => view.host.post({ type: 'copyId', id: card.id }), 'button secondary'),
  );
  article.append(head, snippet(card), location, actions);
  return article;
}

/** The page shown for a side: the one kept in the state, else the view's first. */
function currentPage(q: QueryView, side: Side, view: View): CardPage {
  return view.state.pages?.[pageKey(q.ref, side)] ?? q[side];
}

export function cardsSection(q: QueryView, side: Side, view: View): HTMLElement {
  const page = currentPage(q, side, view);
  const section = el('section', 'cards');
  section.id = `cards-${q.ref}-${side}`;
  section.dataset.side = side;
  const title = el('h3', undefined, SIDE_TITLES[side]);
  section.append(title);
  const last = Math.min(page.total, page.available ?? page.total);
  const size = q.pageSize;
  const from = page.cards.length ? page.offset + 1 : 0;
  const to = page.offset + page.cards.length;
  const inReport = page.available !== undefined && page.available < page.total ? ` (the first ${count(page.available)} are in this report)` : '';
  const nav = el('nav', 'pager');
  nav.setAttribute('aria-label', `${SIDE_TITLES[side]}: pages`);
  const request = (offset: number) => view.host.post({ type: 'requestPage', ref: q.ref, side, offset, limit: size });
  const prev = button('Previous', () => request(Math.max(0, page.offset - size)), 'button secondary');
  prev.disabled = page.offset === 0;
  const next = button('Next', () => request(page.offset + size), 'button secondary');
  next.disabled = to >= last;
  prev.dataset.pager = 'previous';
  next.dataset.pager = 'next';
  nav.append(prev, el('span', 'page-range', `${count(from)}–${count(to)} of ${count(page.total)}${inReport}`), next);
  const list = el('div', 'card-list');
  if (!page.cards.length) list.append(el('p', 'message', 'No documents.'));
  for (const c of page.cards) list.append(cardElement(c, q, view));
  section.append(nav, list);
  return section;
}

/** Shows a page that arrived from the host in place, keeping the keyboard focus on the pager button used. */
export function showPage(page: CardPage, queries: readonly QueryView[], view: View): void {
  const q = queries.find((x) => x.ref === page.ref);
  if (!q) return;
  view.update({ pages: { ...view.state.pages, [pageKey(page.ref, page.side)]: page } });
  const old = document.getElementById(`cards-${page.ref}-${page.side}`);
  if (!old) return;
  const focused = (document.activeElement as HTMLElement | null)?.dataset?.pager;
  const fresh = cardsSection(q, page.side, view);
  old.replaceWith(fresh);
  const target = focused ? fresh.querySelector<HTMLButtonElement>(`[data-pager="${focused}"]`) : null;
  (target && !target.disabled ? target : fresh.querySelector<HTMLElement>('.card-list article button'))?.focus();
}

/** Shows a document's text inside its card (the report's "Open document"). */
export function showDocumentText(ref: string, docIndex: number, text: string): void {
  document.querySelectorAll<HTMLElement>(`[id^="cards-${CSS.escape(ref)}-"] article[data-doc-index="${docIndex}"]`).forEach((card) => {
    let pre = card.querySelector('pre.doc-text');
    if (!pre) {
      pre = el('pre', 'doc-text');
      pre.setAttribute('tabindex', '0');
      card.append(pre);
    }
    pre.textContent = text;
  });
}
