/** Markdown tables of the evaluation reports (printed by `influence-lens eval`, kept in docs/EVALUATION.md). */
import type { FactsReport } from './facts';
import type { LdsReport } from './lds';
import type { MeanSe } from './metrics';
import { METHOD_LABELS } from './methods';

function ms(x: MeanSe, digits = 3): string {
  if (x.n === 0 || !Number.isFinite(x.mean)) return '–';
  return Number.isFinite(x.se) ? `${x.mean.toFixed(digits)} ± ${x.se.toFixed(digits)}` : x.mean.toFixed(digits);
}

function seconds(s: number | null, cached: boolean): string {
  if (s === null) return '–';
  return `${s < 10 ? s.toFixed(1) : s.toFixed(0)}${cached ? ' (cached)' : ''}`;
}

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

export function factsMarkdown(r: FactsReport): string {
  const out: string[] = [];
  const k = r.recallKs;
  out.push(
    `Factual queries: ${r.factual.queries} (${r.factual.correct} answered correctly by the model), ${r.documents} documents, ` +
      `${ms(r.factual.relevantPerQuery, 1)} relevant documents per query (mean ± SE). Values: mean ± standard error over queries.`,
    '',
  );
  out.push(
    ...table(
      ['method', 'MRR', ...k.map((x) => `recall@${x}`), 'MRR (correct)', 'MRR (incorrect)', ...k.map((x) => `recall@${x} (correct)`), 'seconds'],
      r.methods.map((m) => [
        METHOD_LABELS[m.method],
        ms(m.all.mrr),
        ...m.all.recall.map((x) => ms(x)),
        ms(m.correct.mrr),
        ms(m.incorrect.mrr),
        ...m.correct.recall.map((x) => ms(x)),
        seconds(m.seconds, m.cached),
      ]),
    ),
  );
  out.push(
    '',
    `Reasoning queries: ${r.reasoning.queries}. Share of the top k documents that show the query's procedure (its task, with steps), ÷ that share in the corpus (1 = as in the corpus):`,
    '',
  );
  const shares = Object.entries(r.reasoning.share)
    .map(([task, s]) => `${task}: code ${(100 * s.code).toFixed(1)}%, math ${(100 * s.math).toFixed(1)}%`)
    .join('; ');
  out.push(
    ...table(
      ['method', ...r.procedureKs.flatMap((x) => [`code, top ${x}`, `math, top ${x}`])],
      r.methods.map((m) => [METHOD_LABELS[m.method], ...r.procedureKs.flatMap((_, j) => [ms(m.procedures.code[j], 2), ms(m.procedures.math[j], 2)])]),
    ),
  );
  out.push('', `Corpus shares of procedure documents: ${shares}.`);
  return out.join('\n') + '\n';
}

export function ldsMarkdown(r: LdsReport): string {
  const kinds = Object.keys(r.methods[0]?.byKind ?? {});
  const out: string[] = [];
  const t = r.trainingTime;
  out.push(
    `${r.models} models trained on random ${Math.round(100 * r.fraction)}% subsets of ${r.documents} documents; ${r.queries} queries. ` +
      `Model: Llama, dim ${r.training.dim}, MLP ${r.training.hiddenDim}, ${r.training.nLayers} layers, ${r.training.epochs} epochs of rows of ${r.training.rowLength} tokens. ` +
      `Training one subset model: ${ms(t.subsets.wall, 0)} s wall, ${ms(t.subsets.cpu, 0)} s CPU (all threads); the full model ${t.full.wallSeconds.toFixed(0)} s wall, ${t.full.cpuSeconds.toFixed(0)} s CPU. ` +
      `Query loss on the full model: ${r.losses.fullMean.toFixed(2)} nats (mean); its sd across subset models: ${r.losses.subsetSd.toFixed(3)} nats (mean over queries). ${r.machine}.`,
    '',
  );
  out.push(
    ...table(
      ['method', 'LDS (all queries)', ...kinds.map((k) => `LDS (${k})`), 'seconds'],
      r.methods.map((m) => [METHOD_LABELS[m.method], ms(m.lds), ...kinds.map((k) => ms(m.byKind[k])), seconds(m.seconds, false)]),
    ),
  );
  return out.join('\n') + '\n';
}
