/**
 * Writing the gradient index: rows streamed into chunk files as a pass over the corpus sketches them, either
 * a pass of its own (buildIndex) or the fit's eigenvalue-correction pass (IndexBuilder fed by fitFactors).
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { IndexPool, IndexResults, IndexTask } from './tasks';
import type { TaskOf } from '../worker/taskPool';
import { runBatched } from '../worker/batched';
import { BY_TOKEN_COUNT, corpusItems, type CorpusItem, type Shard } from '../corpus/sequences';
import { newCorpusReport, type CorpusOptions } from '../corpus/types';
import { InfluenceLensError } from '../errors';
import type { LoadedFactors } from '../ekfac/load';
import type { PassIndex } from '../ekfac/fit';
import type { FactorManifest } from '../ekfac/store';
import { STRATEGY_SPECS } from '../ekfac/strategies';
import type { ModuleFactors } from '../ekfac/types';
import type { ResultsDocument } from '../results/types';
import type { Tokenizer } from '../tokenizer/types';
import { assertOutputKind } from '../util/output';
import { TOOL_VERSION } from '../version';
import { dampingFor } from '../score/precondition';
import { sketchBasis } from './projection';
import type { SketchRows } from './reductions';
import { DEFAULT_SKETCH, parseSketch, rowLayout, sketchModules, sketchName, type SketchChoice } from './sketch';
import { ChunkWriter, MANIFEST, packBlocksRow, packDenseRow, readManifest, writeDocuments, writeManifest, type PackedRow } from './store';
import { DEFAULT_RESCORE_RANK, rescoreSettings, type RescoreSettings } from './rescore/layout';
import { isRescoreChunk, RescoreWriter } from './rescore/store';
import { whiteningMessages } from './rescore/basis';
import { LEXICAL_FILES } from './lexical';
import { writeLexicalIndex } from './lexicalBuild';
import { INDEX_VERSION, type IndexFactors, type IndexManifest, type IndexModule, type RowLayout, type SketchSettings } from './types';
import { resultsDocument } from '../results/document';

/** Seed of the random projections when none is given. */
export const DEFAULT_SKETCH_SEED = 0;

/** What an index describes and where it goes. */
export interface IndexTarget {
  out: string;
  /** "eigen:16x32", "kron:24x24", "count:8192", "blocks:50%" (DEFAULT_SKETCH when absent). */
  sketch: SketchChoice;
  seed?: number;
  maxLen: number;
  model: { fingerprint: string; path: string };
  corpus: CorpusOptions;
  corpusFingerprint: string;
  shard?: Shard;
  /** blocks only: the λ that weighs entries when choosing them (default 0.1 × mean Λ per module). */
  damping?: number;
  /** Target bytes per chunk file (default 64 MiB; at most 4,096 documents). */
  chunkBytes?: number;
  /** Factors per module of the rescoring tier (default DEFAULT_RESCORE_RANK; 0: no such tier). */
  rescoreRank?: number;
}

/** The factor stages an index depends on: the eigenbases always, Λ only for blocks (dense sketches apply it at query time). */
export function factorStages(manifest: FactorManifest, sketch?: SketchChoice): Omit<IndexFactors, 'path'> {
  const eigen = manifest.stages.eigen;
  if (!eigen) throw new InfluenceLensError('UNSUPPORTED', `the index needs ekfac or kfac factors (eigenbases); these have ${manifest.settings.strategy}`);
  const lambda = manifest.stages.lambda?.sha256 ?? null;
  return { strategy: manifest.settings.strategy, eigenSha256: eigen.sha256, lambdaSha256: sketch && sketch.kind !== 'blocks' ? null : lambda };
}

/** Modules as the factors give them, with the eigenbases the sketch needs (and Λ for blocks). */
function checkFactors(modules: ModuleFactors[], sketch: SketchChoice, dir: string): void {
  for (const f of modules) {
    if (!f.eigen)
      throw new InfluenceLensError('UNSUPPORTED', `the index needs ekfac or kfac factors (eigenbases); ${dir} has none for ${f.name}`, { file: dir });
    if (sketch.kind === 'blocks' && !f.lambda)
      throw new InfluenceLensError('UNSUPPORTED', 'a blocks sketch needs Λ: build it with influence-lens index once the fit is complete', { file: dir });
  }
}

/** Collects a pass's sketched rows into chunk files; `finish` writes documents.json and, last, the manifest. */
export class IndexBuilder {
  private readonly documents: ResultsDocument[] = [];
  private readonly writer: ChunkWriter;
  private readonly rescoreWriter: RescoreWriter | undefined;
  /** Rows pushed but not yet written (the current window's). */
  private held: { item: CorpusItem; row: PackedRow; rescore: Uint8Array | undefined }[] = [];

  private constructor(
    private readonly t: IndexTarget,
    readonly settings: SketchSettings,
    readonly modules: IndexModule[],
    readonly rows: RowLayout,
    private readonly factorsDir: string,
    private readonly rescore: RescoreSettings | undefined,
  ) {
    this.writer = new ChunkWriter(t.out, rows, t.chunkBytes);
    this.rescoreWriter = rescore && new RescoreWriter(t.out, rescore, t.chunkBytes);
  }

  /**
   * Clears `out` of a previous build's files and uploads the sketch to the pool's threads. `factors` needs
   * the eigenbases only, except for blocks (Λ too): the fit calls this before its Λ pass.
   */
  static async start(pool: IndexPool, factors: { dir: string; modules: ModuleFactors[] }, t: IndexTarget): Promise<IndexBuilder> {
    checkFactors(factors.modules, t.sketch, factors.dir);
    assertOutputKind(t.out, 'index'); // never clear a folder that holds factors or results
    mkdirSync(t.out, { recursive: true });
    // A previous, unfinished build may have left chunks: start clean (the manifest goes first).
    for (const f of readdirSync(t.out)) {
      if (f === MANIFEST || f.startsWith('chunk-') || isRescoreChunk(f) || f === 'documents.json' || LEXICAL_FILES.includes(f))
        rmSync(join(t.out, f), { force: true });
    }
    const modules = sketchModules(
      t.sketch,
      factors.modules.map((f) => ({ name: f.name, outDim: f.eigen!.outDim, inDim: f.eigen!.inDim })),
    );
    const settings: SketchSettings = { kind: t.sketch.kind, size: t.sketch.size, seed: t.seed ?? DEFAULT_SKETCH_SEED, maxLen: t.maxLen };
    if (t.sketch.kind === 'blocks') settings.damping = Object.fromEntries(factors.modules.map((f) => [f.name, dampingFor(f, t.damping)]));
    const rank = t.rescoreRank ?? DEFAULT_RESCORE_RANK;
    const rescore =
      rank > 0
        ? rescoreSettings(
            rank,
            settings.seed,
            factors.modules.map((f) => [f.eigen!.outDim, f.eigen!.inDim]),
          )
        : undefined;
    await pool.broadcast({
      kind: 'setIndexBasis',
      modules: factors.modules.map((f, i) => sketchBasis(f, modules[i], i, settings)),
      rescore: rescore && { settings: rescore, names: factors.modules.map((f) => f.name), whitening: whiteningMessages(factors.modules, rescore.whitening) },
    });
    return new IndexBuilder(t, settings, modules, rowLayout(t.sketch, modules), factors.dir, rescore);
  }

  /**
   * One batch's rows. Batches may come sorted by length within a window (runBatched's bucketing): rows are
   * held until `endWindow` and written in corpus order, which the documents list, shard merges and the
   * rescoring tier's row numbers rely on.
   */
  push(batch: CorpusItem[], rows: SketchRows): void {
    const V = this.rows.values;
    const K = this.rows.positions;
    batch.forEach((it, b) => {
      const row = rows.blocks
        ? packBlocksRow(
            rows.blocks.subarray(b * K, (b + 1) * K),
            rows.values.subarray(b * V, (b + 1) * V),
            this.modules.map((m) => m.kept!),
            this.modules.map((m) => m.blocks!),
          )
        : packDenseRow(rows.values.subarray(b * V, (b + 1) * V), this.rows.segments);
      if (this.rescoreWriter && !rows.rescore) throw new Error('the compute thread wrote no rescoring rows');
      this.held.push({ item: it, row, rescore: rows.rescore?.[b] });
    });
  }

  /** Writes the rows held so far, in corpus order (every document before them has been pushed). */
  endWindow(): void {
    this.held.sort((x, y) => x.item.doc.index - y.item.doc.index);
    for (const { item, row, rescore } of this.held) {
      this.writer.push(row);
      if (this.rescoreWriter) this.rescoreWriter.push(rescore!);
      this.documents.push(resultsDocument({ ...item.doc, tokens: item.sequence.tokens.length }));
    }
    this.held = [];
  }

  /** Writes the last chunk, documents.json, the lexical index and the manifest (which names the completed factor stages). */
  async finish(factors: FactorManifest, signal?: AbortSignal): Promise<IndexManifest> {
    this.endWindow();
    this.writer.flush();
    this.rescoreWriter?.flush();
    if (this.documents.length === 0) throw new InfluenceLensError('EMPTY_CORPUS', 'no documents to index', { file: this.t.corpus.path });
    const docs = writeDocuments(this.t.out, this.documents);
    const lexical = await writeLexicalIndex(this.t.out, this.t.corpus, this.documents, signal);
    const manifest: IndexManifest = {
      version: INDEX_VERSION,
      tool: TOOL_VERSION,
      model: this.t.model,
      corpus: { fingerprint: this.t.corpusFingerprint, path: this.t.corpus.path },
      factors: { path: this.factorsDir, ...factorStages(factors, this.t.sketch) },
      sketch: this.settings,
      modules: this.modules,
      rows: this.rows,
      documents: this.documents.length,
      chunks: this.writer.chunks,
      rescore: this.rescore && this.rescoreWriter ? { ...this.rescore, chunks: this.rescoreWriter.chunks } : null,
      lexical,
      documentsFile: docs.file,
      documentsSha256: docs.sha256,
      shard: this.t.shard ? `${this.t.shard.index}/${this.t.shard.count}` : null,
    };
    return writeManifest(this.t.out, manifest);
  }
}

/** An index written during the fit's Λ pass (fitFactors calls it; `manifest` is set once it is written). */
export class PassIndexWriter implements PassIndex {
  private builder: IndexBuilder | undefined;
  manifest: IndexManifest | undefined;

  constructor(
    private readonly pool: IndexPool,
    private readonly factorsDir: string,
    private readonly target: IndexTarget,
  ) {}

  get written(): boolean {
    return this.manifest !== undefined;
  }

  async start(modules: ModuleFactors[]): Promise<void> {
    this.builder = await IndexBuilder.start(this.pool, { dir: this.factorsDir, modules }, this.target);
  }

  push(batch: CorpusItem[], rows: SketchRows): void {
    this.builder!.push(batch, rows);
  }

  endWindow(): void {
    this.builder!.endWindow();
  }

  async finish(factors: FactorManifest): Promise<void> {
    this.manifest = await this.builder!.finish(factors);
  }
}

/** The complete index in `t.out` when it was built from these inputs and factors with these settings, else undefined. */
export function currentIndex(t: IndexTarget, factors: FactorManifest): IndexManifest | undefined {
  if (!existsSync(join(t.out, MANIFEST))) return undefined;
  let m: IndexManifest;
  try {
    m = readManifest(t.out);
  } catch {
    return undefined; // an older layout or an unreadable manifest: rebuilt
  }
  const want = factorStages(factors, t.sketch);
  const same =
    m.model.fingerprint === t.model.fingerprint &&
    m.corpus.fingerprint === t.corpusFingerprint &&
    m.factors.eigenSha256 === want.eigenSha256 &&
    m.factors.lambdaSha256 === want.lambdaSha256 &&
    sketchName(m.sketch) === sketchName(t.sketch) &&
    m.sketch.seed === (t.seed ?? DEFAULT_SKETCH_SEED) &&
    m.sketch.maxLen === t.maxLen &&
    (m.rescore?.rank ?? 0) === (t.rescoreRank ?? DEFAULT_RESCORE_RANK) &&
    (t.sketch.kind !== 'blocks' || t.damping === undefined) &&
    m.shard === (t.shard ? `${t.shard.index}/${t.shard.count}` : null);
  return same ? m : undefined;
}

export interface BuildIndexOptions extends IndexTarget {
  pool: IndexPool;
  tokenizer: Tokenizer;
  bos: number;
  factors: LoadedFactors;
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (p: { documents: number; tokens: number; elapsedMs: number }) => void;
}

/** A pass of its own over the corpus, for factors fitted earlier (the fit's Λ pass does the same with fit --index). */
export async function buildIndex(o: BuildIndexOptions): Promise<IndexManifest> {
  const { strategy } = o.factors.manifest.settings;
  if (!STRATEGY_SPECS[strategy].eigenbases) {
    throw new InfluenceLensError('UNSUPPORTED', `the index needs ekfac or kfac factors (eigenbases); ${o.factors.dir} has ${strategy}`, {
      file: o.factors.dir,
    });
  }
  const builder = await IndexBuilder.start(o.pool, o.factors, o);
  const started = Date.now();
  const done = { documents: 0, tokens: 0 };
  await runBatched<CorpusItem, TaskOf<IndexTask, 'indexRows'>, IndexResults>(
    o.pool,
    corpusItems(o.corpus, o.tokenizer, o.bos, o.maxLen, { shard: o.shard, report: newCorpusReport(), signal: o.signal }),
    o.batchSize ?? o.pool.batchSize,
    (batch) => ({ kind: 'indexRows', sequences: batch.map((it) => it.sequence) }),
    (rows, batch) => {
      builder.push(batch, rows);
      done.documents += batch.length;
      done.tokens += batch.reduce((n, it) => n + it.sequence.tokens.length, 0);
      o.onProgress?.({ ...done, elapsedMs: Date.now() - started });
    },
    o.signal,
    {},
    { ...BY_TOKEN_COUNT, onWindow: () => builder.endWindow() },
  );
  return builder.finish(o.factors.manifest, o.signal);
}

/** `--sketch` as given, or the default. */
export const sketchChoice = (text: string | undefined): SketchChoice => parseSketch(text ?? DEFAULT_SKETCH);
