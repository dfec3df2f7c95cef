/**
 * The server's long-lived warm state: the tfjs backend, the model run (checkpoint, tokenizer, compute
 * threads), the fitted factors, the gradient index and the corpus, and the InfluenceSession hovers use.
 * Settings changes and changes to those files reconcile this state one at a time, and a burst of changes
 * once: each change starts a new generation, a load of an older generation stops at its next step and
 * its failure is dropped (it read settings half-written, e.g. a new model with the old tokenizer).
 * Failures of the newest settings become an 'error' status and a message, never a crash. It knows nothing of LSP: the
 * server wires a SessionHost to the connection.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { describeBackend, initBackend, type BackendInfo } from '../engine/device/backend';
import { corpusInput } from '../engine/corpus/corpus';
import { corpusFingerprint } from '../engine/corpus/fingerprint';
import { describeError } from '../engine/errors';
import { readManifest as readFactorManifest } from '../engine/ekfac/store';
import type { Checkpoint } from '../engine/model/types';
import { openFactorSet, type FactorSet } from '../engine/runs/factors';
import { InfluenceSession } from '../engine/runs/influence';
import { openIndexQueries, type OpenIndex } from '../engine/runs/indexQueries';
import { hubLabel } from '../engine/model/hubCache';
import { ModelRun } from '../engine/runs/modelRun';
import type { ArtefactStatus, ModelStatus, StatusParams } from '../protocol';
import type { InfluenceLensSettings } from '../settings';
import { storageRoot } from './paths';

export interface ProgressHandle {
  report(message: string): void;
  done(): void;
}

export interface SessionHost {
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

export class Session {
  private current: StatusParams = { state: 'starting', message: 'Influence Lens is starting' };
  private backend: BackendInfo | undefined;
  private backendRequest: string | undefined;
  private model: { run: ModelRun; key: string } | undefined;
  private factors: { set: FactorSet; key: string } | undefined;
  private index: { open: OpenIndex; key: string } | undefined;
  private corpusPrint: { key: string; fingerprint: Promise<string> } | undefined;
  private influence: { session: InfluenceSession; key: string } | undefined;
  private artefacts: { corpus?: ArtefactStatus; factors?: ArtefactStatus; index?: ArtefactStatus } = {};
  private applied: InfluenceLensSettings | undefined;
  private appliedKey: string | undefined;
  private latest: Promise<InfluenceLensSettings> | undefined;
  /** Bumped by every apply(): work of an older generation is stale. */
  private generation = 0;
  private queue: Promise<void> = Promise.resolve();
  private watchers: FSWatcher[] = [];
  private watchTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  /** Extra status fields owned by the server (the running job, trust). */
  private extra: Partial<StatusParams> = {};

  constructor(
    private readonly host: SessionHost,
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
    if (this.artefacts.corpus?.state !== 'ready')
      return {
        what: this.artefacts.corpus?.detail ?? `the corpus ${s.corpus} is not readable`,
        fix: { title: 'Select a corpus', command: 'influenceLens.selectCorpus' },
      };
    if (!this.factors || !this.influence) {
      const f = this.artefacts.factors;
      return {
        what: f?.state === 'working' ? 'the factors are being fitted' : (f?.detail ?? 'the factors are not fitted'),
        fix: f?.state === 'working' ? undefined : { title: 'Fit factors', command: 'influenceLens.fitFactors' },
      };
    }
    return { settings: s, run: this.model.run, factors: this.factors.set, influence: this.influence.session, index: this.index?.open };
  }

  /** The default cache folder for these settings (keyed by model, tokenizer and corpus). */
  cacheDir(s: InfluenceLensSettings): string {
    const root = storageRoot(this.storage.storageDir);
    const key = createHash('sha256')
      .update(JSON.stringify([s.model, s.tokenizer, s.corpus, s.strategy, s.fitMaxDocuments, s.maxLength]))
      .digest('hex')
      .slice(0, 16);
    return join(root, 'caches', key);
  }

  factorsDir(s: InfluenceLensSettings): string {
    return s.factors || join(this.cacheDir(s), 'factors');
  }

  indexDir(s: InfluenceLensSettings): string {
    return s.index || join(s.factors ? dirname(s.factors) : this.cacheDir(s), s.factors ? `${basename(s.factors)}-index` : 'index');
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
    this.artefacts[which] = { ...this.artefacts[which], state: 'working', detail };
    this.publishReady();
  }

  /** Releases the model and its worker threads once any running reconcile has finished. */
  dispose(): Promise<void> {
    this.disposed = true;
    this.unwatch();
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
    const modelKey = JSON.stringify([s.model, s.tokenizer, s.workers, this.backend.name, this.fileStamp(s.model)]);
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
    this.artefacts.corpus = await corpusStatus(s.corpus);
    current();
    const factorsDir = this.factorsDir(s);
    const factorsKey = JSON.stringify([this.model?.key, factorsDir, s.maxLength, this.fileStamp(join(factorsDir, 'manifest.json'))]);
    if (this.factors?.key !== factorsKey) {
      await this.release('factors');
      if (run && readFactorManifestSafe(factorsDir) !== undefined) {
        try {
          const set = await openFactorSet(run, factorsDir);
          this.factors = { set, key: factorsKey };
          const m = set.factors.manifest;
          this.artefacts.factors = {
            state: 'ready',
            path: factorsDir,
            detail: `${m.settings.strategy} factors fitted on ${m.stages.lambda?.documents ?? m.stages.covariance?.documents ?? '?'} documents (maximum length ${set.maxLen})`,
          };
        } catch (e) {
          this.artefacts.factors = { state: 'error', path: factorsDir, detail: describeError(e).message };
        }
        current();
      } else if (this.artefacts.factors?.state !== 'working') {
        this.artefacts.factors = { state: s.model ? 'missing' : 'none', path: factorsDir, detail: 'not fitted yet (Influence Lens: Fit Factors)' };
      }
    }
    const indexDir = this.indexDir(s);
    // The index is opened only over the corpus it was built on (hovers read that corpus by its document numbers).
    const corpusReady = this.artefacts.corpus.state === 'ready';
    const indexKey = JSON.stringify([
      factorsKey,
      indexDir,
      this.fileStamp(join(indexDir, 'manifest.json')),
      corpusReady ? [s.corpus, this.fileStamp(s.corpus)] : null,
    ]);
    if (this.index?.key !== indexKey) {
      await this.release('index');
      if (run && this.factors && existsSync(join(indexDir, 'manifest.json'))) {
        try {
          const corpus = corpusReady ? { path: s.corpus, fingerprint: await this.corpusFingerprint(s.corpus) } : undefined;
          const open = await openIndexQueries(run, this.factors.set, indexDir, { damping: s.damping ?? undefined, maxNewTokens: s.maxNewTokens, corpus });
          this.index = { open, key: indexKey };
          this.artefacts.index = { state: 'ready', path: indexDir, detail: `${open.searcher.documents.length.toLocaleString('en-US')} documents` };
        } catch (e) {
          this.artefacts.index = { state: 'error', path: indexDir, detail: `${describeError(e).message} (hovers score exactly; Influence Lens: Build Index)` };
        }
        current();
      } else if (this.artefacts.index?.state !== 'working') {
        this.artefacts.index = { state: this.factors ? 'missing' : 'none', path: indexDir, detail: 'not built yet (Influence Lens: Build Index)' };
      }
    }
    const influenceKey = JSON.stringify([indexKey, s.corpus, s.damping, s.maxNewTokens, s.completion, this.artefacts.corpus.state]);
    if (this.influence?.key !== influenceKey) {
      this.influence = undefined;
      if (run && this.factors && this.artefacts.corpus.state === 'ready') {
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
    const key = JSON.stringify([path, this.fileStamp(path)]);
    if (this.corpusPrint?.key !== key) {
      const fingerprint = corpusFingerprint({ path });
      const entry = { key, fingerprint };
      fingerprint.catch(() => this.corpusPrint === entry && (this.corpusPrint = undefined)); // a failed read is retried
      this.corpusPrint = entry;
    }
    return this.corpusPrint.fingerprint;
  }

  /** mtime and size of a file or folder (0 when absent): a changed file reloads what was built from it. */
  private fileStamp(path: string): string {
    try {
      const st = statSync(path);
      return `${st.mtimeMs}:${st.size}`;
    } catch {
      return '0';
    }
  }

  private fileStamps(s: InfluenceLensSettings): string[] {
    return [s.model, s.corpus, join(this.factorsDir(s), 'manifest.json'), join(this.indexDir(s), 'manifest.json')].map((p) => (p ? this.fileStamp(p) : ''));
  }

  /**
   * Watches the model, corpus, factor and index paths: a change reconciles again (debounced). Each
   * path is watched through its parent folder too, so a file deleted and put back (a new inode) or
   * created after an error is still seen; folders are watched for changes inside them.
   */
  private watch(s: InfluenceLensSettings): void {
    this.unwatch();
    const names = new Map<string, Set<string>>(); // folder → the entries of interest ('' = any)
    const add = (dir: string, name: string) => names.set(dir, (names.get(dir) ?? new Set()).add(name));
    for (const p of [s.model, s.corpus, this.factorsDir(s), this.indexDir(s)]) {
      if (!p) continue;
      add(dirname(p), basename(p));
      if (isFolder(p)) add(p, '');
    }
    for (const [dir, wanted] of names) {
      if (!isFolder(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, (_event, name) => {
          if (!wanted.has('') && name && !wanted.has(String(name))) return;
          clearTimeout(this.watchTimer);
          this.watchTimer = setTimeout(() => void this.refresh(), 500);
        });
        w.on('error', () => undefined);
        this.watchers.push(w);
      } catch {
        // not watchable (a special file system): changes are seen at the next settings change
      }
    }
  }

  private unwatch(): void {
    clearTimeout(this.watchTimer);
    for (const w of this.watchers.splice(0)) w.close();
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
      ...this.artefacts,
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
      message: model
        ? `Ready on ${this.backend.name} with ${modelName(model)} (${model.architecture}, ${formatCount(model.parameters)} parameters): ${what}`
        : `Ready on ${this.backend.name}; no model configured (set influenceLens.model, or run "Influence Lens: Open Demo")`,
      backend: this.backendStatus(),
      modelPath: s?.model || undefined,
      model,
      ...this.artefacts,
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

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readFactorManifestSafe(dir: string): unknown {
  try {
    return readFactorManifest(dir);
  } catch {
    return null; // unreadable: openFactorSet reports it
  }
}

async function corpusStatus(path: string): Promise<ArtefactStatus> {
  if (!path) return { state: 'none', detail: 'no corpus configured (influenceLens.corpus)' };
  try {
    const input = await corpusInput(path);
    return { state: 'ready', path, detail: `${input.format}, ${input.files.length} file(s), ${formatBytes(input.totalBytes)}` };
  } catch (e) {
    return { state: 'error', path, detail: describeError(e).message };
  }
}

export function modelStatus(checkpoint: Checkpoint): ModelStatus {
  const distinct = new Set<Float32Array>();
  for (const t of checkpoint.weights.values()) distinct.add(t.data);
  let parameters = 0;
  for (const data of distinct) parameters += data.length;
  const c = checkpoint.config;
  return {
    path: checkpoint.source.path,
    format: checkpoint.source.kind,
    architecture: c.architecture,
    parameters,
    layers: c.nLayers,
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
  };
}

/** A checkpoint by its file name; a Hugging Face model by its folder and the one above ("demo/model", "org/name"), or from the cache by its id ("org/name@1a2b3c4"). */
function modelName(m: ModelStatus): string {
  if (m.format === 'huggingface') return hubLabel(m.path) ?? `${basename(dirname(m.path))}/${basename(m.path)}`;
  return basename(m.path);
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(n / 1024))} KiB`;
}
