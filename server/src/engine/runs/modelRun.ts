/**
 * A model ready to run: checkpoint, tokenizer and the compute pool that holds it, plus the identity that
 * keys every cache built from it. Every command and the language server start here.
 */
import type { BackendInfo, BackendRequest } from '../device/backend';
import { openComputePool, type ComputePool } from '../compute/computePool';
import type { LineEndTokens } from '../inference/generate';
import { resolveModelPath } from '../model/hubCache';
import { fingerprintCheckpoint } from '../model/load';
import { bosId, openModel, stopIds, type OpenedModel } from '../model/openModel';
import type { Checkpoint } from '../model/types';
import { checkModuleNames, trackedModules } from '../model/tfModel';
import type { Tokenizer } from '../tokenizer/types';

export interface ModelRunOptions {
  /** Hugging Face folder, llama2.c checkpoint, or a repository id in the local Hugging Face cache (`owner/name[@revision]`). */
  model: string;
  /** llama2.c tokenizer .bin (default: tokenizer.bin beside the checkpoint). */
  tokenizer?: string;
  backend?: BackendRequest;
  /** Compute threads for wasm/cpu; undefined: one per core; 0: this thread. */
  workers?: number;
  /** Tracked MLP linears (by name); all of them by default. */
  modules?: string[];
}

/** How a model is named in factors, indexes and results. */
export interface ModelId {
  fingerprint: string;
  path: string;
  architecture: string;
}

export class ModelRun implements OpenedModel {
  private fingerprint: Promise<string> | undefined;
  private lineEndTokens: LineEndTokens | undefined;

  private constructor(
    readonly options: ModelRunOptions,
    readonly checkpoint: Checkpoint,
    readonly tokenizer: Tokenizer,
    private currentPool: ComputePool,
    private currentModules: string[] | undefined,
  ) {}

  /** `options.model` of the run is the folder that was loaded (a repository id becomes its cached snapshot). */
  static async open(options: ModelRunOptions): Promise<ModelRun> {
    const o = { ...options, model: resolveModelPath(options.model) };
    const opened = await openModel(o.model, o.tokenizer);
    checkModuleNames(opened.checkpoint.config, o.modules);
    const pool = await openComputePool(opened.checkpoint, { backend: o.backend, workers: o.workers, modules: o.modules });
    return new ModelRun(o, opened.checkpoint, opened.tokenizer, pool, o.modules);
  }

  get pool(): ComputePool {
    return this.currentPool;
  }

  get backend(): BackendInfo {
    return this.currentPool.backend;
  }

  get bos(): number {
    return bosId(this);
  }

  get stopIds(): number[] {
    return stopIds(this);
  }

  /** The vocabulary's newline and whitespace-only tokens, for greedy completions that stop at the end of a line. */
  get lineEnd(): LineEndTokens {
    if (!this.lineEndTokens) {
      const newline: number[] = [];
      const blank: number[] = [];
      for (let id = 0; id < this.tokenizer.vocabSize; id++) {
        const text = this.tokenizer.decode([id]);
        if (text.includes('\n')) newline.push(id);
        if (!/\S/.test(text)) blank.push(id);
      }
      this.lineEndTokens = { newline, blank };
    }
    return this.lineEndTokens;
  }

  /** The model's context length (tokens). */
  get context(): number {
    return this.checkpoint.config.maxSeqLen;
  }

  /** Every MLP linear of the model, by name. */
  get allModules(): string[] {
    return trackedModules(this.checkpoint.config).map((m) => m.name);
  }

  /** The tracked modules (all when none were named). */
  get modules(): string[] {
    return this.currentModules ?? this.allModules;
  }

  async modelId(): Promise<ModelId> {
    this.fingerprint ??= fingerprintCheckpoint(this.checkpoint);
    return { fingerprint: await this.fingerprint, path: this.options.model, architecture: this.checkpoint.config.architecture };
  }

  /** Tracks these modules from now on (restarting the compute threads only when the set changes). */
  async track(modules: string[] | undefined): Promise<void> {
    if (sameSet(modules ?? this.allModules, this.modules)) return;
    const next = await openComputePool(this.checkpoint, { backend: this.options.backend, workers: this.options.workers, modules });
    const old = this.currentPool;
    this.currentPool = next;
    this.currentModules = modules;
    await old.dispose();
  }

  async dispose(): Promise<void> {
    await this.currentPool.dispose();
  }
}

function sameSet(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((x) => b.includes(x));
}
