/**
 * The server's long-lived warm state: the tfjs backend and, when a model is configured, the loaded
 * checkpoint and its ComputePool. Settings changes reconcile this state one at a time (the newest
 * settings win); failures become an 'error' status and a message, never a crash. It knows nothing of
 * LSP: the server wires a SessionHost to the connection.
 */
import { basename } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { initBackend, type BackendInfo, type BackendRequest } from './engine/backend/backend';
import { ComputePool } from './engine/backend/pool';
import { isInfluenceLensError } from './engine/errors';
import { loadCheckpoint } from './engine/model/load';
import type { Checkpoint } from './engine/model/types';
import type { ErrorStatus, ModelStatus, StatusParams } from './protocol';
import type { InfluenceLensSettings } from './settings';

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

/** A loaded model, ready for the scoring handlers of later stages. */
export interface WarmModel {
  checkpoint: Checkpoint;
  pool: ComputePool;
  settings: InfluenceLensSettings;
}

export class Session {
  private current: StatusParams = { state: 'starting', message: 'Influence Lens is starting' };
  private backend: BackendInfo | undefined;
  private backendRequest: BackendRequest | undefined;
  private loaded: (WarmModel & { key: string }) | undefined;
  /** The settings last applied without error; identical settings are then a no-op. */
  private appliedKey: string | undefined;
  private latest: Promise<InfluenceLensSettings> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private disposed = false;

  constructor(private readonly host: SessionHost) {}

  get status(): StatusParams {
    return this.current;
  }

  get model(): WarmModel | undefined {
    return this.loaded;
  }

  /** Reconciles the warm state with these settings once earlier work is done; resolves when applied. */
  apply(settings: Promise<InfluenceLensSettings>): Promise<void> {
    if (this.disposed) return Promise.resolve();
    this.latest = settings;
    // Swallow here so an unobserved rejection never reaches the process; reconcile reports it.
    settings.catch(() => undefined);
    this.queue = this.queue.then(() =>
      this.latest === settings && !this.disposed ? this.reconcile(settings) : undefined,
    );
    return this.queue;
  }

  /** Releases the model and its worker threads once any running reconcile has finished. */
  dispose(): Promise<void> {
    this.disposed = true;
    this.queue = this.queue.then(() => this.releaseModel());
    return this.queue;
  }

  private async reconcile(pending: Promise<InfluenceLensSettings>): Promise<void> {
    let settings: InfluenceLensSettings | undefined;
    try {
      settings = await pending;
      await this.load(settings);
    } catch (e) {
      this.fail(e, settings);
    }
  }

  private async load(settings: InfluenceLensSettings): Promise<void> {
    const key = JSON.stringify(settings);
    if (key === this.appliedKey) return;
    this.appliedKey = undefined;
    if (!this.backend || settings.backend !== this.backendRequest) {
      await this.releaseModel(); // its tensors belong to the old backend
      this.publish({ state: 'starting', message: `Initialising the ${settings.backend} compute backend` });
      this.backend = undefined;
      this.backend = await initBackend(settings.backend);
      this.backendRequest = settings.backend;
      this.host.log(`backend: ${this.backend.name} (${this.backend.reason})`);
    }
    const modelKey = JSON.stringify([settings.model, settings.workers, this.backend.name]);
    if (this.loaded?.key !== modelKey) {
      await this.releaseModel();
      if (settings.model) await this.loadModel(settings, this.backend, modelKey);
    }
    if (this.loaded) this.loaded.settings = settings;
    this.appliedKey = key;
    const model = this.loaded && modelStatus(this.loaded.checkpoint);
    this.publish({
      state: 'ready',
      message: model
        ? `Ready on ${this.backend.name} with ${basename(model.path)} (${model.architecture}, ${formatCount(model.parameters)} parameters)`
        : `Ready on ${this.backend.name}; no model configured (set influenceLens.model)`,
      backend: this.backendStatus(),
      modelPath: settings.model || undefined,
      model,
    });
  }

  private async loadModel(settings: InfluenceLensSettings, backend: BackendInfo, key: string): Promise<void> {
    const progress = await this.host.beginProgress('Influence Lens: loading model');
    try {
      this.publish({
        state: 'loading-model',
        message: `Loading ${settings.model}`,
        backend: this.backendStatus(),
        modelPath: settings.model,
      });
      progress.report(`Reading ${basename(settings.model)}`);
      await yieldToEventLoop(); // let the status and progress go out before the synchronous read
      const checkpoint = loadCheckpoint(settings.model);
      progress.report(`Starting compute threads (${backend.name})`);
      const pool = await ComputePool.create(checkpoint, {
        backend: backend.name,
        workers: settings.workers === 0 ? undefined : settings.workers,
      });
      this.loaded = { checkpoint, pool, settings, key };
      this.host.log(`model: ${settings.model} (${checkpoint.config.architecture}) on ${pool.size} thread(s)`);
    } finally {
      progress.done();
    }
  }

  private async releaseModel(): Promise<void> {
    const loaded = this.loaded;
    this.loaded = undefined;
    if (loaded) await loaded.pool.dispose();
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
      model: this.loaded && modelStatus(this.loaded.checkpoint),
      error,
    });
    this.host.showError(`Influence Lens: ${message}`);
  }

  private backendStatus(): StatusParams['backend'] {
    if (!this.backend) return undefined;
    return { name: this.backend.name, reason: this.backend.reason, threads: this.loaded?.pool.size, adapter: this.backend.adapter };
  }

  private publish(status: StatusParams): void {
    this.current = status;
    this.host.status(status);
  }
}

/** The user-facing sentence (always naming the file when the engine knows it) and its location. */
export function describeError(e: unknown): { message: string; error: ErrorStatus } {
  if (isInfluenceLensError(e)) {
    const where = e.file === undefined ? '' : e.line === undefined ? e.file : `${e.file}:${e.line}`;
    const message = where && !e.message.includes(e.file as string) ? `${where}: ${e.message}` : e.message;
    const error: ErrorStatus = { code: e.code };
    if (e.file !== undefined) error.file = e.file;
    if (e.line !== undefined) error.line = e.line;
    return { message, error };
  }
  return { message: e instanceof Error ? e.message : String(e), error: { code: 'INTERNAL' } };
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

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}
