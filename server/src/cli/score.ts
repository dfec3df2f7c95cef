/** `score`: influence of every corpus document on every query, written as a results folder. */
import { parseShard } from '../engine/corpus/sequences';
import { readCorpus } from '../engine/corpus/corpus';
import { corpusFingerprint } from '../engine/corpus/fingerprint';
import { bosId, stopIds } from '../engine/model/openModel';
import { readQueries } from '../engine/queries/read';
import { writeResults } from '../engine/results/io';
import type { ResultsFile } from '../engine/results/types';
import { resolveQueries } from '../engine/score/queries';
import { scoreCorpus, type ScoreOutput, type ScoreProgress } from '../engine/score/score';
import { scoreWithIndex } from '../engine/index/scoreWithIndex';
import { TOOL_VERSION } from '../engine/version';
import { prepareOutput } from '../engine/util/output';
import { safeForTerminal } from '../engine/util/terminal';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, optStr, parse, str, UsageError } from './args';
import { corpusOptions, logSkipped, withFactors } from './context';

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
    shard: { type: 'string' },
    index: { type: 'string' },
    rerank: { type: 'string' },
  });
  const indexDir = optStr(v, 'index');
  const rerank = int(v, 'rerank', { min: 0 });
  if (rerank !== undefined && !indexDir) throw new UsageError('--rerank needs --index');
  if (indexDir && optStr(v, 'shard')) throw new UsageError('--shard applies to corpus passes; an index is sharded when it is built');
  if (indexDir && v.self === true) throw new UsageError('--self needs a pass over the corpus; drop --index');
  const factorsDir = str(v, 'factors');
  const out = str(v, 'out');
  const corpus = corpusOptions(v);
  const shard = parseShard(optStr(v, 'shard'));
  const top = int(v, 'top', { min: 0 })!;
  const [damping, rank, maxNewTokens, batchSize] = [num(v, 'damping'), int(v, 'rank'), int(v, 'max-new-tokens')!, int(v, 'batch-size')];
  prepareOutput(out, 'results', [factorsDir, str(v, 'model'), corpus.path, ...(indexDir ? [indexDir] : [])]);
  const records = await readQueries(str(v, 'queries'));
  await withFactors(v, signal, factorsDir, async (m) => {
    const { factors, modelId, maxLen } = m;
    const manifest = factors.manifest;
    const started = Date.now();
    const queries = await resolveQueries(records, {
      pool: m.pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      stopIds: stopIds(m),
      maxNewTokens,
      maxLen,
      signal,
      onQuery: (done, total) => m.progress.update({ label: 'queries', done, total, elapsedMs: Date.now() - started }),
    });
    const base = {
      pool: m.pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      corpus,
      factors,
      queries,
      maxLen,
      damping,
      rank,
      selfInfluence: v.self === true,
      batchSize,
      signal,
      onProgress: (p: ScoreProgress) =>
        m.progress.update({ label: p.phase === 'queries' ? 'query gradients' : 'scoring corpus', done: p.done, total: p.total, tokens: p.tokens, elapsedMs: p.elapsedMs }),
    };
    const output = indexDir
      ? await scoreWithIndex({ ...withoutSelf(base), indexDir, modelFingerprint: modelId.fingerprint, rerank: rerank ?? 0 })
      : await scoreCorpus({ ...base, shard });
    const indexInfo = output.index;
    m.progress.done();
    if (output.skipped > 0) logSkipped(m.log, output.skippedIssues, output.skipped);
    const results = writeResults(
      out,
      {
        tool: TOOL_VERSION,
        createdAt: new Date().toISOString(),
        model: modelId,
        corpus: {
          path: corpus.path,
          fingerprint: await corpusFingerprint(corpus, signal),
          documents: output.documents.length,
          skipped: output.skipped,
          skippedIssues: output.skippedIssues,
        },
        factors: {
          path: factorsDir,
          strategy: manifest.settings.strategy,
          fisher: manifest.settings.fisher,
          documents: manifest.stages.lambda?.documents ?? manifest.stages.covariance?.documents ?? null,
          tokens: manifest.stages.lambda?.tokens ?? manifest.stages.covariance?.tokens ?? null,
        },
        strategy: manifest.settings.strategy,
        damping: output.damping,
        rank: output.rank,
        method: {
          scoring: indexInfo ? 'index' : 'exact',
          contraction: output.contraction,
          maxLen,
          shard: shard ? `${shard.index}/${shard.count}` : null,
          ...(indexInfo ? { index: indexInfo, rerank: rerank ?? 0 } : {}),
        },
        documents: output.documents.map(({ index, id, source, tokens, file, line, exact }) => ({ index, id, source, tokens, file, line, ...(indexInfo ? { exact: exact === true } : {}) })),
        queries: output.queries.map((q) => ({
          id: q.record.id,
          kind: q.record.kind ?? null,
          task: q.record.task ?? null,
          prompt: q.record.prompt,
          completion: q.completion,
          generated: q.generated,
          answer: q.record.answer ?? null,
          nllNats: q.nllNats,
          promptTokens: q.promptTokens,
          completionTokens: q.completionTokens,
        })),
      },
      output.scores,
      output.self,
    );
    m.log(`results: ${out} (${results.queries.length} queries × ${results.documents.length} documents${output.skipped ? `, ${output.skipped} corpus lines skipped` : ''})`);
    if (top > 0) process.stdout.write(await topTable(results, output, corpus, top, signal));
  });
}

/** The top K documents per query by per-nat score, with a one-line snippet of each. */
async function topTable(results: ResultsFile, output: ScoreOutput, corpus: ReturnType<typeof corpusOptions>, k: number, signal: AbortSignal): Promise<string> {
  const D = results.documents.length;
  const tops = results.queries.map((q, qi) => {
    const order = Array.from({ length: D }, (_, d) => d).sort((a, b) => output.scores[qi * D + b] - output.scores[qi * D + a] || a - b);
    return order.slice(0, k);
  });
  const wanted = new Set(tops.flat().map((d) => results.documents[d].index));
  const text = new Map<number, string>();
  for await (const doc of readCorpus(corpus, undefined, signal)) {
    if (wanted.has(doc.index)) text.set(doc.index, doc.text);
    if (text.size === wanted.size) break;
  }
  const lines: string[] = [];
  results.queries.forEach((q, qi) => {
    lines.push('', `query ${q.id}${q.kind ? ` (${q.kind}${q.task ? `/${q.task}` : ''})` : ''}: ${oneLine(q.prompt, 70)} → ${oneLine(q.completion, 40)}   [${q.nllNats.toFixed(2)} nats]`);
    lines.push('  rank  score/nat     source        id                snippet');
    tops[qi].forEach((d, r) => {
      const doc = results.documents[d];
      const s = output.scores[qi * D + d] / q.nllNats;
      lines.push(`  ${String(r + 1).padStart(4)}  ${s.toExponential(3).padStart(10)}  ${oneLine(doc.source || '-', 12).padEnd(12)}  ${oneLine(doc.id, 16).padEnd(16)}  ${oneLine(text.get(doc.index) ?? '', 60)}`);
    });
  });
  return safeForTerminal(lines.join('\n') + '\n', { multiline: true });
}

function withoutSelf<T extends { selfInfluence?: boolean }>({ selfInfluence: _, ...rest }: T): Omit<T, 'selfInfluence'> {
  return rest;
}

function oneLine(s: string, max: number): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}
