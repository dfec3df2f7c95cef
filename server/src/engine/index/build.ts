/** Building the gradient index: one pass over the corpus, rows streamed into chunk files. */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ComputePool } from '../backend/pool';
import { runBatched } from '../backend/batched';
import type { TaskOf } from '../backend/tasks';
import { corpusItems, type CorpusItem, type Shard } from '../corpus/sequences';
import { newCorpusReport, type CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import type { ModuleFactors } from '../ekfac/types';
import type { ResultsDocument } from '../results/types';
import type { Tokenizer } from '../tokenizer/types';
import { writeTextAtomically } from '../util/atomic';
import { TOOL_VERSION } from '../version';
import { MANIFEST, writeChunk, writeDocuments } from './store';
import type { IndexChunk, IndexManifest, IndexModule } from './types';

export const DEFAULT_INDEX_DIM = 4096;
const CHUNK_ROWS = 4096;

export interface BuildIndexOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  corpus: CorpusOptions;
  factors: LoadedFactors;
  model: { fingerprint: string; path: string };
  corpusFingerprint: string;
  out: string;
  /** Kept entries per module. */
  dim: number;
  maxLen: number;
  shard?: Shard;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { documents: number; tokens: number; elapsedMs: number }) => void;
}

/** sha256 of a factor folder's manifest (which itself records every stage file's hash). */
export function factorsFingerprint(dir: string): string {
  return createHash('sha256').update(readFileSync(join(dir, 'manifest.json'))).digest('hex');
}

/** The `dim` positions of largest Λ (EK-FAC's eigenvalue of each rotated direction). */
export function selectPositions(f: ModuleFactors, dim: number): number[] {
  const lambda = f.lambda!;
  const order = Array.from({ length: lambda.length }, (_, i) => i);
  order.sort((a, b) => lambda[b] - lambda[a] || a - b);
  return order.slice(0, Math.min(dim, lambda.length));
}

export async function buildIndex(o: BuildIndexOptions): Promise<IndexManifest> {
  const { strategy } = o.factors.manifest.settings;
  if (strategy !== 'ekfac' && strategy !== 'kfac') {
    throw new InfluenceLensError('UNSUPPORTED', `the index needs ekfac or kfac factors (eigenbases); ${o.factors.dir} has ${strategy}`, { file: o.factors.dir });
  }
  mkdirSync(o.out, { recursive: true });
  // A previous, unfinished build may have left chunks: start clean (the manifest goes first).
  for (const f of readdirSync(o.out)) if (f === MANIFEST || f.startsWith('chunk-') || f === 'documents.json') rmSync(join(o.out, f), { force: true });

  const modules: IndexModule[] = o.factors.modules.map((f) => ({ name: f.name, outDim: f.eigen!.outDim, inDim: f.eigen!.inDim, positions: selectPositions(f, o.dim) }));
  const widths = modules.map((m) => m.positions.length);
  const rowDim = widths.reduce((a, b) => a + b, 0);
  await o.pool.broadcast({
    kind: 'setIndexBasis',
    modules: o.factors.modules.map((f, i) => ({ ...modules[i], QA: Float32Array.from(f.eigen!.QA), QS: Float32Array.from(f.eigen!.QS) })),
  });

  const started = Date.now();
  const documents: ResultsDocument[] = [];
  const chunks: IndexChunk[] = [];
  let buffer = new Float32Array(CHUNK_ROWS * rowDim);
  let filled = 0;
  let tokens = 0;
  const flush = () => {
    if (filled === 0) return;
    chunks.push(writeChunk(o.out, documents.length - filled, buffer, filled, widths));
    buffer = new Float32Array(CHUNK_ROWS * rowDim);
    filled = 0;
  };
  const report = newCorpusReport();
  await runBatched<CorpusItem, TaskOf<'indexRows'>>(
    o.pool,
    corpusItems(o.corpus, o.tokenizer, o.bos, o.maxLen, { shard: o.shard, report, signal: o.signal }),
    o.batchSize ?? 8,
    (batch) => ({ kind: 'indexRows', sequences: batch.map((it) => it.sequence) }),
    (rows, batch) => {
      batch.forEach((it, b) => {
        buffer.set(rows.subarray(b * rowDim, (b + 1) * rowDim), filled * rowDim);
        filled++;
        const { index, id, source, file, line } = it.doc;
        documents.push({ index, id, source, tokens: it.sequence.tokens.length, file, line });
        tokens += it.sequence.tokens.length;
        if (filled === CHUNK_ROWS) flush();
      });
      o.onProgress?.({ documents: documents.length, tokens, elapsedMs: Date.now() - started });
    },
    o.signal,
  );
  flush();
  if (documents.length === 0) throw new InfluenceLensError('EMPTY_CORPUS', 'no documents to index', { file: o.corpus.path });
  const docs = writeDocuments(o.out, documents);
  const manifest: IndexManifest = {
    version: 1,
    tool: TOOL_VERSION,
    model: o.model,
    corpus: { fingerprint: o.corpusFingerprint, path: o.corpus.path },
    factors: { path: o.factors.dir, fingerprint: factorsFingerprint(o.factors.dir), strategy },
    settings: { dim: o.dim, maxLen: o.maxLen, dtype: 'F16' },
    modules,
    rowDim,
    documents: documents.length,
    chunks,
    documentsFile: docs.file,
    documentsSha256: docs.sha256,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
  };
  writeTextAtomically(join(o.out, MANIFEST), JSON.stringify(manifest) + '\n');
  return manifest;
}
