/** Joins the results of every corpus shard of a run (score --shard i/n) into one results folder, documents in corpus order. */
import { InfluenceLensError } from '../errors';
import { assertNotInput } from '../util/output';
import { completeShardCount } from '../util/shardSet';
import { readResults, writeResults } from './io';
import type { LoadedResults, ResultsFile } from './types';
import { artefactTime } from '../util/clock';

export function mergeResults(dirs: string[], out: string): ResultsFile {
  if (dirs.length === 0) throw new Error('no results to merge');
  assertNotInput(out, dirs);
  const parts = dirs.map(readResults);
  const first = parts[0].results;
  const same = (r: LoadedResults) =>
    r.results.model.fingerprint === first.model.fingerprint &&
    r.results.corpus.fingerprint === first.corpus.fingerprint &&
    r.results.factors.path === first.factors.path &&
    JSON.stringify(Object.entries(r.results.factors.stages ?? {}).sort()) === JSON.stringify(Object.entries(first.factors.stages ?? {}).sort()) &&
    JSON.stringify(r.results.queries.map((q) => [q.id, q.promptTokens, q.completionTokens])) ===
      JSON.stringify(first.queries.map((q) => [q.id, q.promptTokens, q.completionTokens]));
  const odd = parts.find((p) => !same(p));
  if (odd)
    throw new InfluenceLensError('RESULTS_MISMATCH', `${odd.dir} was scored with another model, corpus, factors or queries than ${parts[0].dir}`, {
      file: odd.dir,
    });
  // Only every shard of one run is merged: the merged folder covers the whole corpus (it used to take any subset).
  const shards = completeShardCount(
    parts.map((p) => ({ dir: p.dir, shard: p.results.method.shard })),
    { command: 'score', code: 'RESULTS_INCOMPLETE' },
  );
  for (const p of parts) {
    const i = Number(p.results.method.shard!.split('/')[0]);
    const stray = p.results.documents.find((doc) => doc.index % shards !== i);
    if (stray)
      throw new InfluenceLensError(
        'RESULTS_MISMATCH',
        `${p.dir} says it is shard ${p.results.method.shard} but holds document ${stray.index}, which belongs to shard ${stray.index % shards}/${shards}`,
        { file: p.dir },
      );
  }
  const all = parts.flatMap((p) => p.results.documents.map((doc, d) => ({ doc, d, p })));
  all.sort((a, b) => a.doc.index - b.doc.index);
  const dup = all.find((x, i) => i > 0 && all[i - 1].doc.index === x.doc.index);
  if (dup)
    throw new InfluenceLensError('RESULTS_MISMATCH', `document ${dup.doc.index} appears in more than one part (overlapping shards?)`, { file: dup.p.dir });
  const gap = all.findIndex((x, j) => x.doc.index !== j);
  if (gap >= 0)
    throw new InfluenceLensError('RESULTS_INCOMPLETE', `no part holds document ${gap} of the corpus: the shards do not cover it; score its shard again`, {
      file: (parts.find((p) => p.results.method.shard === `${gap % shards}/${shards}`) ?? parts[0]).dir,
    });
  const Q = first.queries.length;
  const D = all.length;
  const scores = new Float32Array(Q * D);
  all.forEach(({ d, p }, j) => {
    const n = p.results.documents.length;
    for (let q = 0; q < Q; q++) scores[q * D + j] = p.scores[q * n + d];
  });
  const self = parts.every((p) => p.self) ? Float32Array.from(all, ({ d, p }) => p.self![d]) : undefined;
  const { version: _v, scoresFile: _a, scoresSha256: _b, selfScoresFile: _c, selfScoresSha256: _d, metadataSha256: _e, ...meta } = first;
  return writeResults(
    out,
    {
      ...meta,
      createdAt: artefactTime(),
      // Every shard reads (and reports the malformed lines of) the whole corpus.
      corpus: { ...first.corpus, documents: D },
      // Complete: no shard marker, and the number of shards it was merged from.
      method: { ...first.method, shard: null, mergedShards: shards },
      documents: all.map((x) => x.doc),
    },
    scores,
    self,
  );
}
