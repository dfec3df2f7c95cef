/** Building the gradient index: one pass over the corpus, rows streamed into chunk files. */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
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
import { FILE_LIMITS, readFileBounded } from '../util/files';
import { assertOutputKind } from '../util/output';
import { TOOL_VERSION } from '../version';
import { dampingFor } from '../score/precondition';
import { ChunkWriter, MANIFEST, packRow, writeDocuments, writeManifest } from './store';
import { BLOCK, INDEX_VERSION, type IndexManifest, type IndexModule } from './types';
import type { IndexBasisMessage } from './handlers';

/** Entries kept per document and module (in whole blocks): a share of the module's entries, or a count. */
export const DEFAULT_INDEX_DIM = '50%';

export interface BuildIndexOptions {
  pool: ComputePool;
  tokenizer: Tokenizer;
  bos: number;
  corpus: CorpusOptions;
  factors: LoadedFactors;
  model: { fingerprint: string; path: string };
  corpusFingerprint: string;
  out: string;
  /** Entries kept per document and module: "50%" (of out·in) or a count such as "4096" (rounded up to blocks). */
  dim: string;
  maxLen: number;
  /** λ the entries are weighed with (absolute, as score's --damping); default 0.1 × mean Λ per module. */
  damping?: number;
  shard?: Shard;
  /** Target bytes per chunk file (default 64 MiB; at most 4,096 documents). */
  chunkBytes?: number;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { documents: number; tokens: number; elapsedMs: number }) => void;
}

/** sha256 of a factor folder's manifest (which itself records every stage file's hash). */
export function factorsFingerprint(dir: string): string {
  return createHash('sha256').update(readFileBounded(join(dir, 'manifest.json'), { what: 'factor manifest', maxBytes: FILE_LIMITS.smallJson })).digest('hex');
}

/** Entries kept of a module with `size` entries for a --dim of "P%" or "N". */
export function keptEntries(dim: string, size: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(dim);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0) || (m[2] === '%' && n > 100) || (m[2] === '' && !Number.isInteger(n))) {
    throw new InfluenceLensError('USAGE', `--dim must be a share such as 50% or a whole number of entries per module; got "${dim}"`);
  }
  return Math.max(1, Math.min(size, m[2] === '%' ? Math.round((n / 100) * size) : n));
}

/** The module's layout in the index: its blocks, and those a document keeps for a --dim. */
export function indexModule(name: string, outDim: number, inDim: number, dim: string): IndexModule {
  const blocks = Math.ceil((outDim * inDim) / BLOCK);
  return { name, outDim, inDim, blocks, kept: Math.min(blocks, Math.ceil(keptEntries(dim, outDim * inDim) / BLOCK)) };
}

/**
 * Per entry of the transposed layout (column i·out + o), padded to whole blocks with zeros, `f(Λ)`: the
 * weights of the index's entries are all computed in this order.
 */
export function transposedEntries(f: ModuleFactors, blocks: number, of: (lambda: number) => number): Float32Array {
  const { outDim, inDim } = f.eigen!;
  const w = new Float32Array(blocks * BLOCK);
  for (let o = 0; o < outDim; o++) {
    for (let i = 0; i < inDim; i++) w[i * outDim + o] = of(Math.max(f.lambda![o * inDim + i], 0));
  }
  return w;
}

/**
 * What the compute threads need to rotate gradients into the eigenbasis and pick a document's blocks: per
 * entry, how much one unit of R_d counts (a query's R_q there is typically √Λ, and EK-FAC divides by Λ + λ).
 */
export function indexBasisMessages(factors: LoadedFactors, modules: IndexModule[], damping: Record<string, number>): IndexBasisMessage[] {
  return modules.map((m) => {
    const f = factors.modules.find((x) => x.name === m.name);
    if (!f?.eigen || !f.lambda) throw new Error(`no eigenbasis for module ${m.name}`);
    return {
      ...m,
      QA: Float32Array.from(f.eigen.QA),
      QS: Float32Array.from(f.eigen.QS),
      weights: transposedEntries(f, m.blocks, (l) => Math.sqrt(l) / (l + damping[m.name])),
    };
  });
}

export async function buildIndex(o: BuildIndexOptions): Promise<IndexManifest> {
  const { strategy } = o.factors.manifest.settings;
  if (strategy !== 'ekfac' && strategy !== 'kfac') {
    throw new InfluenceLensError('UNSUPPORTED', `the index needs ekfac or kfac factors (eigenbases); ${o.factors.dir} has ${strategy}`, { file: o.factors.dir });
  }
  assertOutputKind(o.out, 'index'); // never clear a folder that holds factors or results
  mkdirSync(o.out, { recursive: true });
  // A previous, unfinished build may have left chunks: start clean (the manifest goes first).
  for (const f of readdirSync(o.out)) if (f === MANIFEST || f.startsWith('chunk-') || f === 'documents.json') rmSync(join(o.out, f), { force: true });

  const modules = o.factors.modules.map((f) => indexModule(f.name, f.eigen!.outDim, f.eigen!.inDim, o.dim));
  const damping = Object.fromEntries(o.factors.modules.map((f) => [f.name, dampingFor(f, o.damping)]));
  const layout = {
    modules,
    entries: BLOCK * modules.reduce((a, m) => a + m.kept, 0),
    settings: { dim: o.dim, maxLen: o.maxLen, damping, positions: modules.every((m) => m.blocks <= 65_536) ? 'U16' : 'U32', values: 'I8' } as const,
  };
  await o.pool.broadcast({ kind: 'setIndexBasis', modules: indexBasisMessages(o.factors, modules, damping) });

  const started = Date.now();
  const documents: ResultsDocument[] = [];
  const writer = new ChunkWriter(o.out, layout, o.chunkBytes);
  const kept = modules.map((m) => m.kept);
  const blocks = modules.map((m) => m.blocks);
  const K = kept.reduce((a, b) => a + b, 0);
  let tokens = 0;
  const report = newCorpusReport();
  await runBatched<CorpusItem, TaskOf<'indexRows'>>(
    o.pool,
    corpusItems(o.corpus, o.tokenizer, o.bos, o.maxLen, { shard: o.shard, report, signal: o.signal }),
    o.batchSize ?? o.pool.batchSize,
    (batch) => ({ kind: 'indexRows', sequences: batch.map((it) => it.sequence) }),
    ({ blocks: chosen, values }, batch) => {
      batch.forEach((it, b) => {
        writer.push(packRow(chosen.subarray(b * K, (b + 1) * K), values.subarray(b * K * BLOCK, (b + 1) * K * BLOCK), kept, blocks));
        const { index, id, source, file, line } = it.doc;
        documents.push({ index, id, source, tokens: it.sequence.tokens.length, file, line });
        tokens += it.sequence.tokens.length;
      });
      o.onProgress?.({ documents: documents.length, tokens, elapsedMs: Date.now() - started });
    },
    o.signal,
  );
  writer.flush();
  if (documents.length === 0) throw new InfluenceLensError('EMPTY_CORPUS', 'no documents to index', { file: o.corpus.path });
  const docs = writeDocuments(o.out, documents);
  const manifest: IndexManifest = {
    version: INDEX_VERSION,
    tool: TOOL_VERSION,
    model: o.model,
    corpus: { fingerprint: o.corpusFingerprint, path: o.corpus.path },
    factors: { path: o.factors.dir, fingerprint: factorsFingerprint(o.factors.dir), strategy },
    ...layout,
    documents: documents.length,
    chunks: writer.chunks,
    documentsFile: docs.file,
    documentsSha256: docs.sha256,
    shard: o.shard ? `${o.shard.index}/${o.shard.count}` : null,
  };
  return writeManifest(o.out, manifest);
}
