/**
 * A results folder's analyses: the heatmap, total influence, answer hit rates, source multipliers, the
 * power-law and correlation tables, and a query picker that opens the single-query view.
 */
import type { BatchView } from '../../../server/src/protocol';
import { heatmapFigure } from '../charts/heatmap';
import { hitRatesFigure } from '../charts/hitRates';
import { sourceLadderFigure } from '../charts/sourceLadder';
import { totalInfluenceFigure } from '../charts/totalInfluence';
import { button, el, facts, numberCell, select, table } from '../dom';
import { count, fixed, pEquals, pValue } from '../format';
import type { View } from './context';

function section(title: string, id: string, ...children: HTMLElement[]): HTMLElement {
  const s = el('section', 'batch-section');
  s.id = id;
  s.append(el('h3', undefined, title), ...children);
  return s;
}

function alphaTable(b: BatchView): HTMLElement {
  const p = b.powerLaw;
  const rows = Object.entries(p.byKind).map(([kind, s]) => [
    kind,
    numberCell(String(s.n), s.n),
    numberCell(fixed(s.mean), s.mean),
    numberCell(fixed(s.sd), s.sd),
  ]);
  const byTask = Object.entries(p.byTask).map(([task, s]) => [
    task,
    numberCell(String(s.n), s.n),
    numberCell(fixed(s.mean), s.mean),
    numberCell(fixed(s.sd), s.sd),
  ]);
  const wrap = el('div', 'tables');
  const main = table(`Power-law slope α of the top ${count(p.maxRank)} documents, per kind`, ['kind', 'queries fitted', 'mean α', 'sd'], rows);
  main.id = 'alpha-table';
  wrap.append(main);
  const t = p.test;
  const test = el('p', 'test');
  test.id = 'alpha-test';
  if (t) {
    const parts: [string, string, number | null][] = [
      ['difference', fixed(t.meanDifference), t.meanDifference],
      ['t', fixed(t.t, 2), t.t],
      ['df', fixed(t.df, 1), t.df],
      ['p', pValue(t.p), t.p],
    ];
    test.append(document.createTextNode(`Welch's t-test, ${t.a} vs ${t.b}: `));
    parts.forEach(([name, shown, value], i) => {
      const v = el('span', 'num', shown);
      v.dataset.name = name;
      if (value !== null) v.dataset.value = String(value);
      test.append(document.createTextNode(`${i ? ', ' : ''}${name} = `), v);
    });
  } else test.textContent = "Welch's t-test of α: needs at least two fitted factual and two fitted reasoning queries.";
  wrap.append(test);
  if (byTask.length) wrap.append(table('α per task', ['kind/task', 'queries fitted', 'mean α', 'sd'], byTask));
  return wrap;
}

function correlationTable(b: BatchView): HTMLElement {
  const t = table(
    'Mean r within and across groups; t-test of the mean Fisher z (jackknife over queries) and, within groups, a permutation test against random query sets',
    ['group', 'queries', 'pairs', 'mean r', 'sd', 't', 'p', 'permutation p'],
    b.correlationGroups.map((g) => [
      g.label,
      numberCell(String(g.queries), g.queries),
      numberCell(count(g.pairs), g.pairs),
      numberCell(fixed(g.meanR), g.meanR),
      numberCell(fixed(g.sdR), g.sdR),
      numberCell(fixed(g.t, 2), g.t),
      numberCell(pValue(g.p), g.p),
      numberCell(pValue(g.permutationP), g.permutationP),
    ]),
  );
  t.id = 'correlation-groups';
  return t;
}

function queryPicker(b: BatchView, view: View): HTMLElement {
  const wrap = el('div', 'picker');
  const filter = el('input', 'filter');
  filter.type = 'search';
  filter.placeholder = 'Filter by id, kind, task or text';
  filter.setAttribute('aria-label', 'Filter queries');
  const rows = b.queries.map((q) => {
    const open = button(q.id, () => view.host.post({ type: 'openQuery', ref: q.ref }), 'link');
    open.title = `Open query ${q.id}`;
    const first = el('td');
    first.append(open);
    const text = `${q.prompt}${q.completion}`;
    return {
      q,
      cells: [
        first,
        q.kind,
        q.task ?? '',
        numberCell(fixed(q.alpha), q.alpha),
        numberCell(fixed(q.nllNats, 2), q.nllNats),
        el('td', 'clip', text.length > 90 ? `${text.slice(0, 90)}…` : text),
      ],
    };
  });
  const list = el('div', 'picker-list');
  const render = () => {
    const needle = filter.value.trim().toLowerCase();
    const shown = rows.filter(({ q }) => !needle || [q.id, q.kind, q.task ?? '', q.prompt, q.completion].some((s) => s.toLowerCase().includes(needle)));
    list.replaceChildren(
      table(
        `${shown.length} of ${b.queries.length} queries`,
        ['query', 'kind', 'task', 'α', 'nats', 'prompt + completion'],
        shown.map((r) => r.cells),
      ),
    );
  };
  filter.addEventListener('input', render);
  render();
  wrap.append(filter, list);
  return wrap;
}

export function batchView(b: BatchView, view: View): HTMLElement {
  const root = el('section', 'batch');
  const header = el('header', 'view-header');
  header.append(el('h2', undefined, 'Batch analyses'), el('span', 'badge', `${b.results.queries} queries`));
  root.append(header, el('p', 'path', b.title));
  const r = b.results;
  const kinds = b.kinds.map((k) => `${k} ${b.queries.filter((q) => q.kind === k).length}`).join(' · ');
  root.append(
    facts([
      ['Queries', `${count(r.queries)} (${kinds})`],
      ['Documents', count(r.documents)],
      ['Method', `${r.strategy}${r.rank ? `, rank-${r.rank} queries` : ', full-rank queries'}`],
      ['Analysed', b.createdAt],
    ]),
  );
  const ti = b.totalInfluence;
  if (ti.ratio100 !== null) {
    const p = el('p', 'headline');
    p.append(document.createTextNode('Total helpful influence per nat, factual ÷ reasoning: '));
    const v = el('strong', 'num', `${fixed(ti.ratio100, 2)}× at 100%`);
    v.dataset.value = String(ti.ratio100);
    p.append(
      v,
      document.createTextNode(`, ${fixed(ti.ratio5, 2)}× in the top 5%${ti.test100?.p != null ? ` (Welch t-test at 100%: ${pEquals(ti.test100.p)})` : ''}.`),
    );
    root.append(p);
  }
  const kindChoice =
    view.state.sourceKind && b.sources.byKind[view.state.sourceKind] ? view.state.sourceKind : (b.kinds.find((k) => b.sources.byKind[k]) ?? b.kinds[0]);
  const kindSelect = select(
    'Kind',
    b.kinds.filter((k) => b.sources.byKind[k]).map((k) => ({ value: k, label: k })),
    kindChoice,
    (k) => {
      view.update({ sourceKind: k });
      view.rerender();
    },
    'source-kind',
  );
  const grid = el('div', 'figures');
  grid.append(heatmapFigure(b, view), totalInfluenceFigure(b, view), hitRatesFigure(b, view));
  const ladders = el('div', 'figures');
  ladders.append(sourceLadderFigure(b, kindChoice, 'top', view), sourceLadderFigure(b, kindChoice, 'bottom', view));
  root.append(
    grid,
    section('Source over-representation vs k', 'source-ladders', kindSelect, ladders),
    section('Power law of the top documents', 'power-law', alphaTable(b)),
    section('Correlation by group', 'correlations', correlationTable(b)),
    section('Queries', 'queries', queryPicker(b, view)),
  );
  return root;
}
