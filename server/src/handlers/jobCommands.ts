/**
 * The long commands, run as background jobs with progress and cancel: a batch over a query file (results
 * folder + the paper's analyses), fitting factors, building the index, and scoring a hover's prompt
 * exactly when the corpus is too large for a hover without an index.
 */
import { basename, join } from 'node:path';
import {
  FILE_LIMITS,
  InfluenceLensError,
  type InfluenceResult,
  parseQueryText,
  type QueryRecord,
  readTextBoundedAsync,
  runAnalysis,
  runFit,
  runIndexBuild,
  runScore,
} from '../engine/api';
import { CancelledError, type JobContext, type JobQueue, type ProgressSink } from '../jobs';
import type { BatchResult, RefArgs, RunBatchArgs } from '../protocol';
import type { AnswerStore } from '../refs';
import type { WarmState, Warm } from '../session/warmState';
import { storageRoot } from '../session/paths';
import { batchFolder, documentPath, localFilePath } from './queryFiles';

type Cancel = { isCancellationRequested?: boolean; onCancellationRequested(f: () => void): unknown };

/** A query file that is not open is read within this time (a slow network mount must not hold the server). */
const QUERY_READ_MS = 30_000;

export class JobCommands {
  constructor(
    private readonly state: WarmState,
    private readonly jobs: JobQueue,
    private readonly answers: AnswerStore,
    private readonly storageDir: string | undefined,
    /** The text of an open document (unsaved edits included), if it is open. */
    private readonly openText: (uri: string) => string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  async runBatch(args: RunBatchArgs, sink: ProgressSink, cancel?: Cancel): Promise<BatchResult> {
    let file: string;
    let records: QueryRecord[];
    try {
      ({ file, records } = await this.readQueries(requireString(args?.uri, 'uri'), cancel));
    } catch (e) {
      sink.done(); // the progress the client shows ends with the refusal
      throw e;
    }
    return this.jobs.run(
      `Influence Lens: batch ${basename(file)}`,
      sink,
      async (ctx) => {
        const w = this.requireWarm();
        const started = Date.now();
        const out = batchFolder(join(storageRoot(this.storageDir), 'results'), file);
        const hooks = { signal: ctx.signal, onProgress: ctx.progress, log: this.log };
        const scored = await runScore(
          w.run,
          w.factors,
          {
            corpus: { path: w.settings.corpus },
            queries: records,
            damping: w.settings.damping ?? undefined,
            rank: w.settings.rank || undefined,
            maxNewTokens: w.settings.maxNewTokens,
            completion: w.settings.completion,
            out,
          },
          hooks,
        );
        ctx.say("running the paper's analyses");
        await runAnalysis({ results: out }, hooks);
        return {
          results: out,
          queries: scored.results.queries.length,
          documents: scored.results.documents.length,
          skipped: scored.skippedQueries,
          seconds: (Date.now() - started) / 1000,
        };
      },
      cancel,
    );
  }

  /**
   * The queries of a batch: an open document's text (unsaved edits included; it may be untitled), else a
   * local file read with the checks that keep a FIFO, a device or a huge file from blocking or exhausting
   * the server, cancellable with the request.
   */
  private async readQueries(uri: string, cancel?: Cancel): Promise<{ file: string; records: QueryRecord[] }> {
    const open = this.openText(uri);
    const file = open === undefined ? localFilePath(uri) : documentPath(uri);
    const text =
      open ?? (await readTextBoundedAsync(file, { what: 'query file', maxBytes: FILE_LIMITS.smallJson, timeoutMs: QUERY_READ_MS, signal: signalOf(cancel) }));
    return { file, records: parseQueryText(text, file) };
  }

  async fitFactors(sink: ProgressSink, cancel?: Cancel): Promise<{ factors: string }> {
    return this.jobs.run(
      'Influence Lens: fit factors',
      sink,
      async (ctx) => {
        const s = this.state.settings;
        const run = this.state.run;
        if (!s?.model || !run) throw new InfluenceLensError('NOT_READY', 'no model is loaded (set influenceLens.model, or run "Influence Lens: Open Demo")');
        if (!s.corpus) throw new InfluenceLensError('NOT_READY', 'no corpus is configured (influenceLens.corpus)');
        const out = this.state.factorsDir(s);
        this.state.working('factors', 'fitting');
        try {
          await runFit(
            run,
            { corpus: { path: s.corpus }, out, strategy: s.strategy, maxDocs: s.fitMaxDocuments, maxLen: s.maxLength || undefined },
            { signal: ctx.signal, onProgress: ctx.progress, log: (line) => (this.log(line), ctx.say(line)) },
          );
        } finally {
          await this.state.refresh();
        }
        return { factors: out };
      },
      cancel,
    );
  }

  async buildIndex(sink: ProgressSink, cancel?: Cancel): Promise<{ index: string }> {
    return this.jobs.run(
      'Influence Lens: build index',
      sink,
      async (ctx) => {
        const s = this.state.settings;
        const run = this.state.run;
        const factors = this.state.factorSet;
        if (!s || !run || !factors) throw new InfluenceLensError('NOT_READY', 'fit the factors first ("Influence Lens: Fit Factors")');
        const out = this.state.indexDir(s);
        // The compute threads hold the open index; it goes before the new one is written.
        await this.state.closeIndex();
        this.state.working('index', 'building');
        try {
          await runIndexBuild(
            run,
            factors,
            { corpus: { path: s.corpus }, out, damping: s.damping ?? undefined },
            { signal: ctx.signal, onProgress: ctx.progress, log: this.log },
          );
        } finally {
          await this.state.refresh();
        }
        return { index: out };
      },
      cancel,
    );
  }

  /** Scores a stored request exactly (a full pass); the answer keeps its ref. */
  async scoreExactly(args: RefArgs, sink: ProgressSink, cancel?: Cancel): Promise<{ ref: string }> {
    const answer = this.answers.get(args?.ref);
    if (!answer) throw new InfluenceLensError('NOT_FOUND', 'this hover is no longer known to the server; hover again');
    return this.jobs.run(
      `Influence Lens: score ${answer.label} exactly`,
      sink,
      async (ctx: JobContext) => {
        if (!answer.session) throw new InfluenceLensError('NOT_READY', 'the model and factors of this answer are no longer loaded');
        const result: InfluenceResult = await answer.session.query({ ...answer.request, rerank: answer.request.rerank }, ctx.signal, {
          onProgress: ctx.progress,
        });
        this.answers.update(args.ref, result);
        return { ref: args.ref };
      },
      cancel,
    );
  }

  private requireWarm(): Warm {
    const w = this.state.warm();
    if (!('influence' in w)) throw new InfluenceLensError('NOT_READY', `cannot run: ${w.what}`);
    return w;
  }
}

/** An AbortSignal that follows a request's cancellation. */
function signalOf(cancel: Cancel | undefined): AbortSignal | undefined {
  if (!cancel) return undefined;
  const abort = new AbortController();
  const stop = () => abort.abort(new CancelledError('the request was cancelled'));
  if (cancel.isCancellationRequested) stop();
  else cancel.onCancellationRequested(stop);
  return abort.signal;
}

function requireString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new InfluenceLensError('USAGE', `missing argument "${name}"`);
  return v;
}
