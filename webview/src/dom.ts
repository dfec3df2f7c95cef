/**
 * DOM helpers. Everything from data goes in as text (textContent, text nodes); no HTML is ever parsed
 * from strings, so corpus text with markup or scripts shows as the characters it is.
 */

export function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function button(label: string, onClick: () => void, className = 'button'): HTMLButtonElement {
  const b = el('button', className, label);
  b.type = 'button';
  b.addEventListener('click', onClick);
  return b;
}

/** A table cell showing `shown`, with the exact number it stands for in data-value (tests compare it with the source). */
export function numberCell(shown: string, value: number | null | undefined): HTMLTableCellElement {
  const td = el('td', 'num', shown);
  if (value !== null && value !== undefined) td.dataset.value = String(value);
  return td;
}

export type Cell = string | HTMLTableCellElement;

/** A table: a caption, column heads, rows of cells (strings become text cells; the first cell of a row is its header). */
export function table(caption: string, heads: string[], rows: Cell[][], className = 'data'): HTMLTableElement {
  const t = el('table', className);
  t.append(el('caption', undefined, caption));
  const head = el('tr');
  for (const h of heads) {
    const th = el('th', undefined, h);
    th.scope = 'col';
    head.append(th);
  }
  t.createTHead().append(head);
  const body = t.createTBody();
  for (const row of rows) {
    const tr = el('tr');
    row.forEach((c, i) => {
      if (typeof c !== 'string') return tr.append(c);
      if (i === 0) {
        const th = el('th', undefined, c);
        th.scope = 'row';
        tr.append(th);
      } else tr.append(el('td', undefined, c));
    });
    body.append(tr);
  }
  return t;
}

/** A definition list of facts. */
export function facts(rows: [string, string][]): HTMLDListElement {
  const list = el('dl', 'facts');
  for (const [term, value] of rows) list.append(el('dt', undefined, term), el('dd', undefined, value));
  return list;
}

/** A labelled <select>; `id` lets a redraw give it the focus back. */
export function select<T extends string | number>(
  label: string,
  options: { value: T; label: string }[],
  current: T,
  onChange: (value: T) => void,
  id?: string,
): HTMLLabelElement {
  const wrap = el('label', 'select');
  wrap.append(el('span', undefined, label));
  const s = el('select');
  if (id) s.id = id;
  for (const o of options) {
    const opt = el('option', undefined, o.label);
    opt.value = String(o.value);
    opt.selected = o.value === current;
    s.append(opt);
  }
  s.addEventListener('change', () => {
    const picked = options.find((o) => String(o.value) === s.value);
    if (picked) onChange(picked.value);
  });
  wrap.append(s);
  return wrap;
}
