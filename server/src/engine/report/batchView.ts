/**
 * The batch view: the paper's analyses of a results folder (analysis.json) arranged for drawing: the
 * correlation heatmap in kind/task order, the total-influence bands, answer hit rates, source
 * multipliers (the largest sources and the rest as one), the power-law table, and the query list for the
 * picker. Nothing is recomputed: every number comes from the report, so the panel shows what
 * `influence-lens analyze` printed.
 */
import { join } from 'node:path';
import { ANALYSIS_FILE, type AnalysisReport } from '../analysis/analyze';
import { kindOf, orderedKinds, tasksOf } from '../analysis/groups';
import { InfluenceLensError } from '../errors';
import type { LoadedResults } from '../results/types';
import { boundedSources } from './otherSources';
import type { BatchQuery, BatchView, Heatmap, HeatmapGroup } from '../../common/views';

export interface BatchViewOptions {
  /** The ref of query q (default `query:q`): what openQuery / openQueries name. */
  refFor?: (q: number) => string;
  /** Shown as the view's title (default: the results folder). */
  title?: string;
}

export const defaultQueryRef = (q: number): string => `query:${q}`;

/** Rows grouped by kind (report order), then task (sorted; queries without a task last), then results order. */
function heatmap(queries: readonly BatchQuery[], kinds: readonly string[], matrix: readonly (readonly (number | null)[])[]): Heatmap {
  const labels = queries.map((q) => ({ id: q.id, kind: q.kind, task: q.task }));
  const order: number[] = [];
  const groups: HeatmapGroup[] = [];
  const push = (kind: string, task: string | null) => {
    const members = queries.filter((q) => q.kind === kind && q.task === task).map((q) => q.index);
    if (!members.length) return;
    groups.push({ kind, task, start: order.length, count: members.length });
    order.push(...members);
  };
  for (const kind of kinds) {
    for (const task of tasksOf(labels, kind)) push(kind, task);
    push(kind, null);
  }
  return { order, groups, r: order.map((i) => order.map((j) => matrix[i][j] ?? null)) };
}

export function buildBatchView(loaded: Pick<LoadedResults, 'dir' | 'results'>, report: AnalysisReport, options: BatchViewOptions = {}): BatchView {
  const { queries } = loaded.results;
  const ids = queries.map((q) => q.id);
  const analysed = report.correlations.queries;
  if (analysed.length !== ids.length || analysed.some((id, i) => id !== ids[i]) || report.powerLaw.perQuery.length !== ids.length) {
    throw new InfluenceLensError(
      'RESULTS_MISMATCH',
      `${ANALYSIS_FILE} was computed for other queries than results.json; rerun influence-lens analyze --results ${loaded.dir}`,
      {
        file: join(loaded.dir, ANALYSIS_FILE),
      },
    );
  }
  const refFor = options.refFor ?? defaultQueryRef;
  const list: BatchQuery[] = queries.map((q, i) => ({
    ref: refFor(i),
    index: i,
    id: q.id,
    kind: kindOf(q),
    task: q.task,
    prompt: q.prompt,
    completion: q.completion,
    nllNats: q.nllNats,
    answer: q.answer,
    alpha: report.powerLaw.perQuery[i].alpha,
  }));
  const kinds = orderedKinds(queries);
  const { totalInfluence: ti, answers, sources, powerLaw } = report;
  return {
    kind: 'batch',
    title: options.title ?? loaded.dir,
    createdAt: report.createdAt,
    results: {
      queries: report.results.queries,
      documents: report.results.documents,
      strategy: report.results.strategy,
      rank: report.results.rank,
      corpus: report.results.corpus,
    },
    kinds,
    queries: list,
    heatmap: heatmap(list, kinds, report.correlations.matrix),
    correlationGroups: report.correlations.groups.map((g) => ({
      label: g.label,
      type: g.type,
      queries: g.queries,
      pairs: g.pairs,
      meanR: g.meanR,
      sdR: g.sdR,
      t: g.test.t,
      df: g.test.df,
      p: g.test.p,
      permutationP: g.permutationP ?? null,
    })),
    totalInfluence: { percents: ti.percents, byKind: ti.byKind, ratio100: ti.headline.ratio100, ratio5: ti.headline.ratio5, test100: ti.headline.test100 },
    answers: answers.available
      ? {
          available: true,
          ks: answers.ks,
          byKind: Object.fromEntries(
            Object.entries(answers.byKind).map(([kind, s]) => [
              kind,
              { queries: s.queries, hits: s.hits, hitRate: s.hitRate, correct: s.correct, hitRateCorrect: s.hitRateCorrect },
            ]),
          ),
        }
      : { available: false, reason: answers.reason },
    sources: boundedSources(sources),
    powerLaw: { maxRank: powerLaw.maxRank, byKind: powerLaw.byKind, byTask: powerLaw.byTask, test: powerLaw.test },
  };
}
