/** `score`: influence of every corpus document on every query, written as a results folder. */
import {
  candidateCounts,
  checkDamping,
  type CorpusOptions,
  prepareOutput,
  readDocumentTexts,
  readQueries,
  runScore,
  safeForTerminal,
  type ScoreRun,
} from '../engine/api';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, optStr, parse, str, UsageError } from './args';
import { corpusOptions, withFactors } from './context';
import { resolveShard, SHARD_OPTIONS } from './shardEnv';

export async function score(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    factors: { type: 'string' },
    queries: { type: 'string' },
    out: { type: 'string' },
    damping: { type: 'string' },
    rank: { type: 'string' },
    top: { type: 'string', default: '10' },
    self: { type: 'boolean', default: false },
    'max-len': { type: 'string' },
    'max-new-tokens': { type: 'string', default: '64' },
    'full-completions': { type: 'boolean', default: false },
    ...SHARD_OPTIONS,
    index: { type: 'string' },
    rerank: { type: 'string' },
    candidates: { type: 'string' },
  });
  const indexDir = optStr(v, 'index');
  const rerank = int(v, 'rerank', { min: 0 });
  if (rerank !== undefined && !indexDir) throw new UsageError('--rerank needs --index');
  const candidates = int(v, 'candidates', { min: 0 });
  if (candidates !== undefined && !indexDir) throw new UsageError('--candidates needs --index');
  if (indexDir && (optStr(v, 'shard') || optStr(v, 'shards'))) throw new UsageError('--shard applies to corpus passes; an index is sharded when it is built');
  // Scoring from an index reads no corpus: a scheduler's shard variables do not apply to it.
  const { shard, from } = indexDir ? { shard: undefined, from: '' } : resolveShard(optStr(v, 'shard'), optStr(v, 'shards'));
  if (indexDir && v.self === true) throw new UsageError('--self needs a pass over the corpus; drop --index');
  const out = str(v, 'out');
  const corpus = corpusOptions(v);
  const top = int(v, 'top', { min: 0 })!;
  const damping = num(v, 'damping');
  if (damping !== undefined) checkDamping(damping); // before --out is created
  prepareOutput(out, 'results', [str(v, 'factors'), str(v, 'model'), corpus.path, ...(indexDir ? [indexDir] : [])]);
  const options = {
    corpus,
    damping,
    rank: int(v, 'rank'),
    selfInfluence: v.self === true,
    shard,
    batchSize: int(v, 'batch-size'),
    maxNewTokens: int(v, 'max-new-tokens'),
    completion: v['full-completions'] === true ? ('full' as const) : ('firstLine' as const),
    index: indexDir ? { dir: indexDir, rerank: rerank ?? 0, ...(candidates !== undefined ? { candidates: candidateCounts(candidates) } : {}) } : undefined,
    out,
  };
  // Every option is checked before the query file is read (a usage error wins over a bad file).
  const request = { ...options, queries: await readQueries(str(v, 'queries')) };
  await withFactors(v, signal, async ({ run, factors, hooks }) => {
    if (shard) hooks.log(`shard ${shard.index}/${shard.count} (${from})`);
    const scored = await runScore(run, factors, request, hooks);
    const { results, skippedQueries } = scored;
    const skipped = results.corpus.skipped;
    hooks.log(
      `results: ${out} (${results.queries.length} queries × ${results.documents.length} documents` +
        `${skipped ? `, ${skipped} corpus lines skipped` : ''}${skippedQueries.length ? `, ${skippedQueries.length} queries skipped` : ''})`,
    );
    if (top > 0) process.stdout.write(await topTable(scored, corpus, top, signal));
  });
}

/** The top K documents per query by per-nat score, with a one-line snippet of each. */
async function topTable(scored: ScoreRun, corpus: CorpusOptions, k: number, signal: AbortSignal): Promise<string> {
  const { results, scores } = scored;
  const D = results.documents.length;
  const tops = results.queries.map((_, qi) => {
    const order = Array.from({ length: D }, (_, d) => d).sort((a, b) => scores[qi * D + b] - scores[qi * D + a] || a - b);
    return order.slice(0, k);
  });
  const { texts } = await readDocumentTexts(
    corpus,
    tops.flat().map((d) => results.documents[d].index),
    undefined,
    signal,
  );
  const lines: string[] = [];
  results.queries.forEach((q, qi) => {
    lines.push(
      '',
      `query ${q.id}${q.kind ? ` (${q.kind}${q.task ? `/${q.task}` : ''})` : ''}: ${oneLine(q.prompt, 70)} → ${oneLine(q.completion, 40)}   [${q.nllNats.toFixed(2)} nats]`,
    );
    lines.push('  rank  score/nat     source        id                snippet');
    tops[qi].forEach((d, r) => {
      const doc = results.documents[d];
      const s = scores[qi * D + d] / q.nllNats;
      lines.push(
        `  ${String(r + 1).padStart(4)}  ${s.toExponential(3).padStart(10)}  ${oneLine(doc.source || '-', 12).padEnd(12)}  ${oneLine(doc.id, 16).padEnd(16)}  ${oneLine(texts.get(doc.index) ?? '', 60)}`,
      );
    });
  });
  return safeForTerminal(lines.join('\n') + '\n', { multiline: true });
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}
