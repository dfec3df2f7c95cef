/**
 * The server's long-lived warm state: the tfjs backend, the model run (checkpoint, tokenizer, compute
 * threads), the fitted factors, the gradient index and the corpus, and the InfluenceSession hovers use.
 * Settings changes and changes to those files reconcile this state one at a time, and a burst of changes
 * once: each change starts a new generation, a load of an older generation stops at its next step and
 * its failure is dropped (it read settings half-written, e.g. a new model with the old tokenizer).
 * Failures of the newest settings become an 'error' status and a message, never a crash. It knows nothing of LSP: the
 * server wires a WarmStateHost to the connection. Where the artefacts live and the words of their status are
 * artefacts.ts's, the status sentence statusText.ts's, watching their files watch.ts's.
 */
import { basename } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import {
  corpusFingerprint,
  describeBackend,
  describeError,
  initBackend,
  InfluenceSession,
  ModelRun,
  openFactorSet,
  openIndexQueries,
  type BackendInfo,
  type FactorSet,
  type OpenIndex,
} from '../engine/api';
import type { ArtefactStatus, StatusParams } from '../protocol';
import type { InfluenceLensSettings } from '../settings';
import * as artefacts from './artefacts';
import { modelStatus, readyMessage } from './statusText';
import { PathWatcher } from './watch';

export interface ProgressHandle {
  report(message: string): void;
  done(): void;
}

export interface WarmStateHost {
  /** Publishes a new status (the server sends the status notification). */
  status(params: StatusParams): void;
  /** Shows a problem the user must act on (window/showMessage). */
  showError(message: string): void;
  /** Writes to the server's log. */
  log(message: string): void;
  /** Begins a progress report shown to the user while a long step runs. */
  beginProgress(title: string): Promise<ProgressHandle>;
}

/** Where caches go when the settings name no folder. */
export interface StoragePaths {
  storageDir?: string;
}

/** Everything a hover needs, once it is there. */
export interface Warm {
  settings: InfluenceLensSettings;
  run: ModelRun;
  factors: FactorSet;
  influence: InfluenceSession;
  index?: OpenIndex;
}

/** What is missing for hovers, with the command that fixes it. */
export interface Missing {
  what: string;
  fix?: { title: string; command: string };
}

export class WarmState {
  private current: StatusParams = { state: 'starting', message: 'Influence Lens is starting' };
  private backend: BackendInfo | undefined;
  private backendRequest: string | undefined;
  private model: { run: ModelRun; key: string } | undefined;
  private factors: { set: FactorSet; key: string } | undefined;
  private index: { open: OpenIndex; key: string } | undefined;
  private corpusPrint: { key: string; fingerprint: Promise<string> } | undefined;
  private influence: { session: InfluenceSession; key: string } | undefined;
  private artefactStatus: { corpus?: ArtefactStatus; factors?: ArtefactStatus; index?: ArtefactStatus } = {};
  private applied: InfluenceLensSettings | undefined;
  private appliedKey: string | undefined;
  private latest: Promise<InfluenceLensSettings> | undefined;
  /** Bumped by every apply(): work of an older generation is stale. */
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  /** A change to a file the warm state was built from reconciles again. */
  private readonly watcher = new PathWatcher(() => void this.refresh());
  private disposed = false;
  /** Extra status fields owned by the server (the running job, trust). */
  private extra: Partial<StatusParams> = {};

  constructor(
    private readonly host: WarmStateHost,
    private readonly storage: StoragePaths = {},
  ) {}

  get status(): StatusParams {
    return this.current;
  }

  get settings(): InfluenceLensSettings | undefined {
    return this.applied;
  }

  get run(): ModelRun | undefined {
    return this.model?.run;
  }

  get factorSet(): FactorSet | undefined {
    return this.factors?.set;
  }

  /** The warm state hovers use, or what is missing (with a fix). */
  warm(): Warm | Missing {
    const s = this.applied;
    if (!s?.model) return { what: 'no model is configured', fix: { title: 'Open the demo', command: 'influenceLens.openDemo' } };
    if (!this.model)
      return { what: `the model ${s.model} is not loaded (${this.current.message})`, fix: { title: 'Show output', command: 'influenceLens.showOutput' } };
    if (!s.corpus) return { what: 'no corpus is configured', fix: { title: 'Select a corpus', command: 'influenceLens.selectCorpus' } };
    if (this.artefactStatus.corpus?.state !== 'ready')
      return {
        what: this.artefactStatus.corpus?.detail ?? `the corpus ${s.corpus} is not readable`,
        fix: { title: 'Select a corpus', command: 'influenceLens.selectCorpus' },
      };
    if (!this.factors || !this.influence) {
      const f = this.artefactStatus.factors;
      return {
        what: f?.state === 'working' ? 'the factors are being fitted' : (f?.detail ?? 'the factors are not fitted'),
        fix: f?.state === 'working' ? undefined : { title: 'Fit factors', command: 'influenceLens.fitFactors' },
      };
    }
    return { settings: s, run: this.model.run, factors: this.factors.set, influence: this.influence.session, index: this.index?.open };
  }

  /** The default cache folder for these settings (keyed by model, tokenizer and corpus). */
  cacheDir(s: InfluenceLensSettings): string {
    return artefacts.cacheDir(this.storage.storageDir, s);
  }

  factorsDir(s: InfluenceLensSettings): string {
    return artefacts.factorsDir(this.storage.storageDir, s);
  }

  indexDir(s: InfluenceLensSettings): string {
    return artefacts.indexDir(this.storage.storageDir, s);
  }

  /** Server-owned status fields (job, trust), merged into every status. */
  setExtra(extra: Partial<StatusParams>): void {
    this.extra = { ...this.extra, ...extra };
    this.publish(this.current);
  }

  /**
   * Reconciles the warm state with these settings once earlier work is done. Resolves when the newest
   * settings are applied (these, or ones applied after them), so a caller never sees a superseded state.
   */
  apply(settings: Promise<InfluenceLensSettings>): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.latest = settings;
    const generation = ++this.generation;
    settings.catch(() => undefined); // reconcile reports it
    this.queue = this.queue.then(() => (generation === this.generation && !this.disposed ? this.reconcile(settings, generation) : undefined));
    return this.settled();
  }

  /** Waits until the queue stops growing (work queued meanwhile included). */
  private async settled(): Promise<void> {
    let queue: Promise<void>;
    do {
      queue = this.queue;
      await queue;
    } while (queue !== this.queue);
  }

  /** Re-reads the factors and index (after a fit or an index build, or when their files change). */
  refresh(): Promise<void> {
    this.appliedKey = undefined;
    return this.latest ? this.apply(this.latest) : Promise.resolve();
  }

  /** Closes the index (before a build replaces it); hovers answer without it meanwhile. */
  async closeIndex(): Promise<void> {
    await this.enqueue(async () => {
      const open = this.index?.open;
      this.index = undefined;
      this.influence = undefined;
      if (open) await open.close();
      this.appliedKey = undefined;
    });
  }

  /** Marks an artefact as being made (a job runs) and republishes. */
  working(which: 'factors' | 'index', detail: string): void {
    this.artefactStatus[which] = { ...this.artefactStatus[which], state: 'working', detail };
    this.publishReady();
  }

  /** Releases the model and its worker threads once any running reconcile has finished. */
  dispose(): Promise<void> {
    this.disposed = true;
    this.watcher.close();
    this.queue = this.queue.then(() => this.release('model'));
    return this.queue;
  }

  private enqueue(f: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(f, f);
    return this.queue;
  }

  private async reconcile(pending: Promise<InfluenceLensSettings>, generation: number): Promise<void> {
    let settings: InfluenceLensSettings | undefined;
    const current = () => {
      if (generation !== this.generation || this.disposed) throw new Superseded();
    };
    try {
      settings = await pending;
      current();
      await this.load(settings, current);
    } catch (e) {
      if (e instanceof Superseded) return; // the newer settings' reconcile is queued behind this one
      if (generation !== this.generation) {
        // The settings changed while this load ran: its failure may be an intermediate state, and the
        // newest settings (queued behind) are the ones whose failure the user must see.
        this.appliedKey = undefined;
        this.host.log(`dropped a failure of superseded settings: ${describeError(e).message}`);
        return;
      }
      this.fail(e, settings);
      if (settings && !this.disposed) this.watch(settings); // putting the file back retries
    }
  }

  /** `current()` throws Superseded once newer settings arrived: checked after every slow step. */
  private async load(s: InfluenceLensSettings, current: () => void): Promise<void> {
    const key = JSON.stringify([s, this.fileStamps(s)]);
    if (key === this.appliedKey) return;
    this.appliedKey = undefined;
    this.applied = s;
    if (!this.backend || s.backend !== this.backendRequest) {
      await this.release('model'); // its tensors belong to the old backend
      this.publish({ state: 'starting', message: `Initialising the ${s.backend} compute backend` });
      this.backend = undefined;
      this.backend = await initBackend(s.backend);
      this.backendRequest = s.backend;
      this.host.log(`backend: ${describeBackend(this.backend)}`);
      current();
    }
    const modelKey = JSON.stringify([s.model, s.tokenizer, s.workers, this.backend.name, artefacts.fileStamp(s.model)]);
    if (this.model?.key !== modelKey) {
      await this.release('model');
      if (s.model) await this.loadModel(s, modelKey);
      current();
    }
    await this.loadArtefacts(s, current);
    current();
    this.watch(s);
    this.appliedKey = key;
    this.publishReady();
  }

  private async loadModel(s: InfluenceLensSettings, key: string): Promise<void> {
    const progress = await this.host.beginProgress('Influence Lens: loading model');
    try {
      this.publish({ state: 'loading-model', message: `Loading ${s.model}`, backend: this.backendStatus(), modelPath: s.model });
      progress.report(`Reading ${basename(s.model)}`);
      await yieldToEventLoop(); // let the status and progress go out before the synchronous read
      const run = await ModelRun.open({
        model: s.model,
        tokenizer: s.tokenizer || undefined,
        backend: s.backend,
        workers: s.workers === 0 ? undefined : s.workers,
      });
      this.model = { run, key };
      this.host.log(`model: ${s.model} (${run.checkpoint.config.architecture}) on ${run.pool.size} thread(s), ${run.pool.batchSize} sequences per batch`);
    } finally {
      progress.done();
    }
  }

  /** Corpus, factors, index and the influence session, each kept while its inputs are unchanged. */
  private async loadArtefacts(s: InfluenceLensSettings, current: () => void): Promise<void> {
    const run = this.model?.run;
    this.artefactStatus.corpus = await artefacts.corpusStatus(s.corpus);
    current();
    const factorsDir = this.factorsDir(s);
    const factorsKey = JSON.stringify([this.model?.key, factorsDir, s.maxLength, artefacts.fileStamp(artefacts.manifestOf(factorsDir))]);
    if (this.factors?.key !== factorsKey) {
      await this.release('factors');
      if (run && artefacts.hasFactors(factorsDir)) {
        try {
          const set = await openFactorSet(run, factorsDir);
          this.factors = { set, key: factorsKey };
          this.artefactStatus.factors = artefacts.factorsReady(factorsDir, set);
        } catch (e) {
          this.artefactStatus.factors = artefacts.factorsFailed(factorsDir, e);
        }
        current();
      } else if (this.artefactStatus.factors?.state !== 'working') {
        this.artefactStatus.factors = artefacts.factorsMissing(factorsDir, Boolean(s.model));
      }
    }
    const indexDir = this.indexDir(s);
    // The index is opened only over the corpus it was built on (hovers read that corpus by its document numbers).
    const corpusReady = this.artefactStatus.corpus.state === 'ready';
    const indexKey = JSON.stringify([
      factorsKey,
      indexDir,
      artefacts.fileStamp(artefacts.manifestOf(indexDir)),
      corpusReady ? [s.corpus, artefacts.fileStamp(s.corpus)] : null,
    ]);
    if (this.index?.key !== indexKey) {
      await this.release('index');
      if (run && this.factors && artefacts.hasIndex(indexDir)) {
        try {
          const corpus = corpusReady ? { path: s.corpus, fingerprint: await this.corpusFingerprint(s.corpus) } : undefined;
          const open = await openIndexQueries(run, this.factors.set, indexDir, { damping: s.damping ?? undefined, maxNewTokens: s.maxNewTokens, corpus });
          this.index = { open, key: indexKey };
          this.artefactStatus.index = artefacts.indexReady(indexDir, open);
        } catch (e) {
          this.artefactStatus.index = artefacts.indexFailed(indexDir, e);
        }
        current();
      } else if (this.artefactStatus.index?.state !== 'working') {
        this.artefactStatus.index = artefacts.indexMissing(indexDir, Boolean(this.factors));
      }
    }
    const influenceKey = JSON.stringify([indexKey, s.corpus, s.damping, s.maxNewTokens, s.completion, this.artefactStatus.corpus.state]);
    if (this.influence?.key !== influenceKey) {
      this.influence = undefined;
      if (run && this.factors && this.artefactStatus.corpus.state === 'ready') {
        const session = await InfluenceSession.create(run, this.factors.set, {
          corpus: { path: s.corpus },
          index: this.index?.open,
          damping: s.damping ?? undefined,
          maxNewTokens: s.maxNewTokens,
          firstLine: s.completion === 'firstLine',
        });
        this.influence = { session, key: influenceKey };
        session.warm().catch((e: unknown) => this.host.log(`warm-up: ${describeError(e).message}`));
      }
    }
  }

  private async release(what: 'model' | 'factors' | 'index'): Promise<void> {
    const open = this.index?.open;
    this.index = undefined;
    this.influence = undefined;
    if (open) await open.close().catch(() => undefined);
    if (what === 'index') return;
    this.factors = undefined;
    if (what === 'factors') return;
    const run = this.model?.run;
    this.model = undefined;
    if (run) await run.dispose();
  }

  /** The corpus's fingerprint (a full read), computed once per mtime and size of its path. */
  corpusFingerprint(path: string): Promise<string> {
    const key = JSON.stringify([path, artefacts.fileStamp(path)]);
    if (this.corpusPrint?.key !== key) {
      const fingerprint = corpusFingerprint({ path });
      const entry = { key, fingerprint };
      fingerprint.catch(() => this.corpusPrint === entry && (this.corpusPrint = undefined)); // a failed read is retried
      this.corpusPrint = entry;
    }
    return this.corpusPrint.fingerprint;
  }

  private fileStamps(s: InfluenceLensSettings): string[] {
    return [s.model, s.corpus, artefacts.manifestOf(this.factorsDir(s)), artefacts.manifestOf(this.indexDir(s))].map((p) => (p ? artefacts.fileStamp(p) : ''));
  }

  /** Watches the files these settings' warm state is built from: a change reconciles again. */
  private watch(s: InfluenceLensSettings): void {
    this.watcher.watch([s.model, s.corpus, this.factorsDir(s), this.indexDir(s)]);
  }

  private fail(e: unknown, settings: InfluenceLensSettings | undefined): void {
    this.appliedKey = undefined; // the same settings retry on the next change
    const { message, error } = describeError(e);
    this.host.log(`error: ${e instanceof Error && e.stack ? e.stack : message}`);
    this.publish({
      state: 'error',
      message,
      backend: this.backendStatus(),
      modelPath: settings?.model || undefined,
      model: this.model && modelStatus(this.model.run.checkpoint),
      error,
      ...this.artefactStatus,
    });
    this.host.showError(`Influence Lens: ${message}`);
  }

  private publishReady(): void {
    if (!this.backend) return;
    const s = this.applied;
    const model = this.model && modelStatus(this.model.run.checkpoint);
    const w = this.warm();
    const what = 'influence' in w ? (w.index ? 'hovers answer from the index' : 'hovers score exactly (no index)') : w.what;
    this.publish({
      state: 'ready',
      message: readyMessage(this.backend.name, model, what),
      backend: this.backendStatus(),
      modelPath: s?.model || undefined,
      model,
      ...this.artefactStatus,
    });
  }

  private backendStatus(): StatusParams['backend'] {
    if (!this.backend) return undefined;
    return { name: this.backend.name, reason: this.backend.reason, threads: this.model?.run.pool.size, adapter: this.backend.adapter };
  }

  private publish(status: StatusParams): void {
    this.current = { ...status, ...this.extra };
    this.host.status(this.current);
  }
}

/** Thrown inside a load whose settings were replaced by newer ones: it stops quietly. */
class Superseded extends Error {
  constructor() {
    super('superseded by newer settings');
  }
}
