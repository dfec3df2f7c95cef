/**
 * The long commands, run as background jobs with progress and cancel: a batch over a query file (results
 * folder + the paper's analyses), fitting factors, building the index, and scoring a hover's prompt
 * exactly when the corpus is too large for a hover without an index.
 */
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { homedir } from 'node:os';
import { InfluenceLensError } from '../engine/errors';
import { parseQueryText } from '../engine/queries/read';
import { runAnalysis } from '../engine/runs/analyze';
import { runIndexBuild } from '../engine/runs/buildIndex';
import { runFit } from '../engine/runs/fit';
import type { InfluenceResult } from '../engine/runs/influence';
import { runScore } from '../engine/runs/score';
import type { JobContext, JobQueue, ProgressSink } from '../jobs';
import type { BatchResult, RefArgs, RunBatchArgs } from '../protocol';
import type { AnswerStore } from '../refs';
import type { Session, Warm } from '../session';
import { documentPath } from './queryFiles';

type Cancel = { onCancellationRequested(f: () => void): unknown };

export class JobCommands {
  constructor(
    private readonly session: Session,
    private readonly jobs: JobQueue,
    private readonly answers: AnswerStore,
    private readonly storageDir: string | undefined,
    /** The text of an open document (unsaved edits included), if it is open. */
    private readonly openText: (uri: string) => string | undefined,
    private readonly log: (line: string) => void,
  ) {}

  async runBatch(args: RunBatchArgs, sink: ProgressSink, cancel?: Cancel): Promise<BatchResult> {
    const uri = requireString(args?.uri, 'uri');
    const file = documentPath(uri);
    const text = this.openText(uri) ?? (await readFile(file, 'utf8'));
    const records = parseQueryText(text, file);
    return this.jobs.run(
      `Influence Lens: batch ${basename(file)}`,
      sink,
      async (ctx) => {
        const w = this.requireWarm();
        const started = Date.now();
        const out = join(this.storageDir ?? join(homedir(), '.cache', 'influence-lens'), 'results', basename(file).replace(/\.[^.]*$/, ''));
        const hooks = { signal: ctx.signal, onProgress: ctx.progress, log: this.log };
        const scored = await runScore(
          w.run,
          w.factors,
          { corpus: { path: w.settings.corpus }, queries: records, damping: w.settings.damping ?? undefined, rank: w.settings.rank || undefined, maxNewTokens: w.settings.maxNewTokens, completion: w.settings.completion, out },
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

  async fitFactors(sink: ProgressSink, cancel?: Cancel): Promise<{ factors: string }> {
    return this.jobs.run(
      'Influence Lens: fit factors',
      sink,
      async (ctx) => {
        const s = this.session.settings;
        const run = this.session.run;
        if (!s?.model || !run) throw new InfluenceLensError('NOT_READY', 'no model is loaded (set influenceLens.model, or run "Influence Lens: Open Demo")');
        if (!s.corpus) throw new InfluenceLensError('NOT_READY', 'no corpus is configured (influenceLens.corpus)');
        const out = this.session.factorsDir(s);
        this.session.working('factors', 'fitting');
        try {
          await runFit(
            run,
            { corpus: { path: s.corpus }, out, strategy: s.strategy, maxDocs: s.fitMaxDocuments, maxLen: s.maxLength || undefined },
            { signal: ctx.signal, onProgress: ctx.progress, log: (line) => (this.log(line), ctx.say(line)) },
          );
        } finally {
          await this.session.refresh();
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
        const s = this.session.settings;
        const run = this.session.run;
        const factors = this.session.factorSet;
        if (!s || !run || !factors) throw new InfluenceLensError('NOT_READY', 'fit the factors first ("Influence Lens: Fit Factors")');
        const out = this.session.indexDir(s);
        // The compute threads hold the open index; it goes before the new one is written.
        await this.session.closeIndex();
        this.session.working('index', 'building');
        try {
          await runIndexBuild(run, factors, { corpus: { path: s.corpus }, out, damping: s.damping ?? undefined }, { signal: ctx.signal, onProgress: ctx.progress, log: this.log });
        } finally {
          await this.session.refresh();
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
        const result: InfluenceResult = await answer.session.query({ ...answer.request, rerank: answer.request.rerank }, ctx.signal, { onProgress: ctx.progress });
        this.answers.update(args.ref, result);
        return { ref: args.ref };
      },
      cancel,
    );
  }

  private requireWarm(): Warm {
    const w = this.session.warm();
    if (!('influence' in w)) throw new InfluenceLensError('NOT_READY', `cannot run: ${w.what}`);
    return w;
  }
}

function requireString(v: unknown, name: string): string {
  if (typeof v !== 'string' || v === '') throw new InfluenceLensError('USAGE', `missing argument "${name}"`);
  return v;
}
