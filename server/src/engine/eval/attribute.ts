/**
 * Every method's scores for one model, corpus and query set (docs/EVALUATION.md), computed in as few
 * corpus passes as possible and cached in a work folder: factor fits (`factors-<strategy>-<fisher>`,
 * the fit's own cache), the gradient index (`index`), and each method's score matrix (`scores/`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import MiniSearch from 'minisearch';
import { corpusFingerprint } from '../corpus/fingerprint';
import { readCorpusAll } from '../corpus/corpus';
import type { CorpusOptions } from '../corpus/types';
import { scoreWithIndex } from '../runs/scoreWithIndex';
import { readManifest as readIndexManifest } from '../gradindex/store';
import { runIndexBuild } from '../runs/buildIndex';
import { openFactorSet, type FactorSet } from '../runs/factors';
import { runFit } from '../runs/fit';
import type { ModelRun } from '../runs/modelRun';
import type { RunHooks } from '../runs/progress';
import type { PreparedQuery } from '../score/queries';
import { Rng } from '../util/random';
import { kfacModules, scoreGradientMethods, type QuerySide } from './gradientScores';
import { GRADIENT_METHODS, PRECONDITIONER, type GradientMethod, type Method } from './methods';
import { cacheKey, ScoreCache } from './scoreCache';

export interface AttributionRequest {
  corpus: CorpusOptions;
  /** Prepared once: every method scores the same completions. */
  queries: PreparedQuery[];
  methods: Method[];
  /** The work folder (factors, index, cached scores). */
  work: string;
  /** Tokens per document for fitting and scoring. */
  maxLen: number;
  /** Documents rescored exactly by `index-rerank` (top and bottom, per query). */
  rerank: number;
  seed?: number;
}

export interface Attributions {
  documents: { index: number; id: string; source: string }[];
  /** Raw scores per method, [queries × documents]. */
  scores: Map<Method, Float32Array>;
  /** Seconds each method took when it was computed (a shared pass is split evenly). */
  seconds: Map<Method, number>;
  /** Methods read from the cache. */
  cached: Method[];
}

export async function attribute(run: ModelRun, r: AttributionRequest, hooks: RunHooks = {}): Promise<Attributions> {
  const model = (await run.modelId()).fingerprint;
  const corpusFp = await corpusFingerprint(r.corpus, hooks.signal);
  const queryKey = r.queries.map((q) => [q.promptTokens, q.completionTokens]);
  const cache = new ScoreCache(join(r.work, 'scores'));
  const out: Attributions = { documents: [], scores: new Map(), seconds: new Map(), cached: [] };
  const docs = await readCorpusAll(r.corpus, undefined, hooks.signal);
  out.documents = docs.map((d) => ({ index: d.index, id: d.id, source: d.source }));
  const keyOf = (method: Method, extra: unknown = null) => cacheKey({ v: 1, model, corpus: corpusFp, queries: queryKey, method, maxLen: r.maxLen, extra });
  const fromCache = (method: Method, key: string): boolean => {
    const hit = cache.get(method, key);
    if (!hit) return false;
    out.scores.set(method, hit.scores);
    out.seconds.set(method, hit.seconds);
    out.cached.push(method);
    return true;
  };

  // Factor sets, fitted (or reused) as the gradient methods and the index need them.
  const factorSets = new Map<string, FactorSet>();
  const factorsFor = async (fit: { strategy: 'ekfac' | 'kfac' | 'diagonal' | 'identity'; fisher: 'sampled' | 'empirical' }): Promise<FactorSet> => {
    const dir = join(r.work, `factors-${fit.strategy}-${fit.fisher}`);
    let set = factorSets.get(dir);
    if (!set) {
      await runFit(run, { corpus: r.corpus, out: dir, strategy: fit.strategy, fisher: fit.fisher, maxLen: r.maxLen }, hooks);
      set = await openFactorSet(run, dir, { maxLen: r.maxLen });
      factorSets.set(dir, set);
    }
    return set;
  };
  const factorKey = (set: FactorSet) => set.factors.manifest.stages;

  // 1. Gradient methods, all in one corpus pass (cosine rides on identity's scores and the norms).
  const wanted = GRADIENT_METHODS.filter((m) => r.methods.includes(m));
  const sides: QuerySide[] = [];
  const keys = new Map<GradientMethod, string>();
  for (const m of wanted) {
    const p = PRECONDITIONER[m];
    const set = p.fit ? await factorsFor(p.fit) : undefined;
    const key = keyOf(m, set ? factorKey(set) : null);
    keys.set(m, key);
    if (fromCache(m, key) || m === 'cosine') continue;
    sides.push({ name: m, strategy: p.strategy, factors: set ? (m === 'kfac' ? kfacModules(set.factors.modules) : set.factors.modules) : undefined });
  }
  const needCosine = wanted.includes('cosine') && !out.scores.has('cosine');
  if (needCosine && !sides.some((s) => s.name === 'identity')) sides.push({ name: 'identity', strategy: 'identity' });
  if (sides.length > 0) {
    const started = Date.now();
    const g = await scoreGradientMethods({
      pool: run.pool,
      tokenizer: run.tokenizer,
      bos: run.bos,
      corpus: r.corpus,
      queries: r.queries,
      sides,
      norms: needCosine,
      maxLen: r.maxLen,
      signal: hooks.signal,
      onProgress: stageHooks(hooks),
    });
    const each = (Date.now() - started) / 1000 / (sides.length + (needCosine ? 1 : 0));
    for (const [name, s] of g.scores) {
      const m = name as GradientMethod;
      if (!wanted.includes(m) || out.scores.has(m)) continue;
      out.scores.set(m, s);
      out.seconds.set(m, each);
      cache.put(m, keys.get(m)!, s, each);
    }
    if (needCosine) {
      const identity = g.scores.get('identity')!;
      const D = g.documents.length;
      const cos = identity.map((v, i) => v / ((g.queryNorms![Math.floor(i / D)] || 1) * (g.documentNorms![i % D] || 1)));
      out.scores.set('cosine', cos);
      out.seconds.set('cosine', each);
      cache.put('cosine', keys.get('cosine')!, cos, each);
    }
  }

  // 2. The gradient index at its default size, without and with the exact rerank.
  for (const m of (['index', 'index-rerank'] as const).filter((x) => r.methods.includes(x))) {
    const set = await factorsFor({ strategy: 'ekfac', fisher: 'sampled' });
    const rerank = m === 'index' ? 0 : r.rerank;
    const key = keyOf(m, { factors: factorKey(set), rerank });
    if (fromCache(m, key)) continue;
    const dir = join(r.work, 'index');
    const started = Date.now();
    // Built once per work folder, again when the corpus changed (an index is only used over the corpus it was built on).
    if (!existsSync(join(dir, 'manifest.json')) || indexCorpus(dir) !== corpusFp) await runIndexBuild(run, set, { corpus: r.corpus, out: dir }, hooks);
    const s = await scoreWithIndex({
      pool: run.pool,
      tokenizer: run.tokenizer,
      bos: run.bos,
      corpus: r.corpus,
      factors: set.factors,
      queries: r.queries,
      maxLen: r.maxLen,
      batchSize: run.pool.batchSize,
      signal: hooks.signal,
      indexDir: dir,
      modelFingerprint: model,
      corpusFingerprint: corpusFp,
      rerank,
      // The methods as docs/EVALUATION.md measured them: the sketch's estimates, and its best and worst scored
      // exactly; `score --index` ranks by the rescoring tier's candidates by default.
      candidates: { top: 0, bottom: 0, lexical: 0 },
      onProgress: (p) => hooks.onProgress?.({ stage: `${m} ${p.phase}`, done: p.done, total: p.total, tokens: p.tokens, elapsedMs: p.elapsedMs }),
    });
    out.scores.set(m, s.scores);
    out.seconds.set(m, (Date.now() - started) / 1000);
    cache.put(m, key, s.scores, out.seconds.get(m)!);
  }

  // 3. BM25 over prompt + completion, and random scores.
  if (r.methods.includes('bm25')) {
    const started = Date.now();
    out.scores.set(
      'bm25',
      bm25Scores(
        docs.map((d) => d.text),
        r.queries.map((q) => `${q.record.prompt}${q.completion}`),
      ),
    );
    out.seconds.set('bm25', (Date.now() - started) / 1000);
  }
  if (r.methods.includes('random')) {
    const rng = new Rng(r.seed ?? 0, 0xe7a1);
    out.scores.set(
      'random',
      Float32Array.from({ length: r.queries.length * docs.length }, () => rng.next()),
    );
    out.seconds.set('random', 0);
  }
  return out;
}

/**
 * Okapi BM25 (k1 = 1.2, b = 0.75) with MiniSearch: its BM25+ with d = 0 is Okapi BM25 (Lucene's idf), and
 * its score is multiplied by the number of query terms matched, which is divided out here. Terms: MiniSearch's
 * default tokenizer (split on spaces and punctuation) and lowercasing; a document's length is its number of
 * distinct terms (MiniSearch's measure). Documents without a query term score 0.
 */
export function bm25Scores(texts: readonly string[], queries: readonly string[]): Float32Array {
  const index = new MiniSearch<{ id: number; text: string }>({ fields: ['text'], storeFields: [] });
  index.addAll(texts.map((text, id) => ({ id, text })));
  const D = texts.length;
  const out = new Float32Array(queries.length * D);
  queries.forEach((q, qi) => {
    for (const hit of index.search(q, { bm25: { k: 1.2, b: 0.75, d: 0 } })) {
      out[qi * D + (hit.id as number)] = hit.score / Math.max(1, hit.queryTerms.length);
    }
  });
  return out;
}

function stageHooks(hooks: RunHooks): (p: { stage: string; done: number; total?: number; tokens?: number }) => void {
  const started = new Map<string, number>();
  return (p) => {
    if (!started.has(p.stage)) started.set(p.stage, Date.now());
    hooks.onProgress?.({ ...p, elapsedMs: Date.now() - started.get(p.stage)! });
  };
}

/** The corpus fingerprint an index records, or undefined when it does not load (then it is built again). */
function indexCorpus(dir: string): string | undefined {
  try {
    return readIndexManifest(dir).corpus.fingerprint;
  } catch {
    return undefined;
  }
}
