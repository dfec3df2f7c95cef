/**
 * A checkpoint's weights uploaded as tfjs tensors, with the architecture's forward pass. The forward pass
 * exposes the hooks the influence engine needs on every tracked MLP linear (docs/EKFAC.md): its input
 * a_t, a zero "tap" added to its output (d loss / d tap = g_t for every token), and optional
 * differentiable weight overrides (autograd reference gradients in tests).
 */
import { tf, type Tensor, type Tensor1D, type Tensor2D } from '../tf';
import type { Checkpoint, ModelConfig } from './types';
import { InfluenceLensError } from '../errors';
import { causalMask, gatherRows, groupedCausalMask, linear, matMul2 } from './ops';
import { family } from './arch/registry';
import type { KvCache } from './kvCache';

/** One tracked MLP linear: y = W a (+ b). With a bias, a_t gets an extra constant 1 column. */
export interface TrackedModule {
  name: string;
  weight: string;
  bias?: string;
  /** Columns of W (without the bias column). */
  inDim: number;
  outDim: number;
}

export interface ForwardHooks {
  /** Zeros [B·L, out] added to each tracked module's output; their gradients are g_t. */
  taps?: Map<string, Tensor2D>;
  /** Called with each tracked module's input a_t [B·L, in]. */
  onInput?: (module: string, a: Tensor2D) => void;
  /** Differentiable stand-ins for tracked weights: wT [in, out] and bias [out]. */
  weightOverrides?: Map<string, { wT: Tensor2D; b?: Tensor1D }>;
}

export function trackedModules(config: ModelConfig): TrackedModule[] {
  return family(config.architecture).trackedModules(config);
}

/** Refuses module names this model does not have (a wrong --modules), listing the ones it has. */
export function checkModuleNames(config: ModelConfig, modules: string[] | undefined): void {
  const all = trackedModules(config);
  const unknown = modules?.filter((n) => !all.some((m) => m.name === n)) ?? [];
  if (unknown.length > 0) {
    throw new InfluenceLensError('USAGE', `unknown module(s) ${unknown.join(', ')}; this model's MLP linears are ${all.map((m) => m.name).join(', ')}`);
  }
}

export class TfModel {
  readonly config: ModelConfig;
  /** Every MLP linear, in layer order (the forward passes address them by position). */
  readonly allTracked: TrackedModule[];
  /** The ones whose captures are taken. */
  readonly tracked: TrackedModule[];
  private readonly tensors = new Map<string, Tensor>();
  private readonly constants = new Map<string, Tensor>();
  private disposed = false;

  /** `modules` narrows the tracked MLP linears (by name); all of them by default. */
  constructor(checkpoint: Checkpoint, modules?: string[]) {
    this.config = checkpoint.config;
    const linears = family(this.config.architecture).linears;
    this.allTracked = trackedModules(this.config);
    checkModuleNames(this.config, modules);
    this.tracked = modules ? this.allTracked.filter((m) => modules.includes(m.name)) : this.allTracked;
    for (const [name, t] of checkpoint.weights) {
      const tensor = tf.tensor(t.data, t.shape);
      this.tensors.set(name, tensor);
      if (linears.some((suffix) => name === suffix || name.endsWith('.' + suffix))) {
        this.tensors.set(name + '^T', tf.transpose(tensor));
      }
    }
  }

  /** Differentiable stand-ins for every weight while `withParams` runs (training). */
  private params: Map<string, Tensor> | undefined;

  /**
   * Runs `fn` with every weight replaced by the given tensors, through ops that are differentiable in
   * the weights (training computes weight gradients; the influence passes never need them).
   */
  withParams<T>(params: Map<string, Tensor>, fn: () => T): T {
    this.params = params;
    try {
      return fn();
    } finally {
      this.params = undefined;
    }
  }

  /** A weight as uploaded (or its stand-in inside withParams). */
  t(name: string): Tensor {
    if (this.params) {
      const p = this.params.get(name);
      if (!p) throw new Error(`no parameter "${name}" given`);
      return p;
    }
    const t = this.tensors.get(name);
    if (!t) throw new Error(`model has no weight "${name}"`);
    return t;
  }

  /**
   * A constant that depends only on shapes (RoPE tables, masks), made once and owned by the model.
   * Backward closures may use it, so it must outlive the tidy scope of the forward pass.
   */
  constant<T extends Tensor>(key: string, make: () => T): T {
    let t = this.constants.get(key);
    if (!t) {
      t = tf.keep(tf.tidy(make));
      this.constants.set(key, t);
    }
    return t as T;
  }

  /**
   * How many positions the shape constants (mask, RoPE tables) cover when `need` are in use: doubled as
   * needed up to the context, never the whole context at once (a 128k context would mean a 64 GB mask).
   * Outgrown sizes stay until dispose (a backward pass may still hold them); they add up to less than the last.
   */
  span(need: number): number {
    let n = Math.min(this.config.maxSeqLen, 256);
    while (n < need && n < this.config.maxSeqLen) n = Math.min(this.config.maxSeqLen, n * 2);
    return n;
  }

  /** The additive causal mask for L ids after `offset` cached positions, with rep query heads per kv head stacked along rows. */
  causalMask(length: number, rep: number, offset = 0): Tensor2D {
    const n = this.span(offset + length);
    return groupedCausalMask(
      this.constant(`mask.${n}`, () => causalMask(n)),
      length,
      rep,
      offset,
    );
  }

  /** x · Wᵀ for a stored linear weight W [out, in]. */
  linear(x: Tensor2D, weight: string): Tensor2D {
    if (this.params) return matMul2(x, tf.transpose(this.t(weight)) as Tensor2D);
    return linear(x, this.t(weight + '^T') as Tensor2D, this.t(weight) as Tensor2D);
  }

  /** Rows of an embedding table for ids [B, L] → [B·L, dim]. */
  embed(table: string, ids: Tensor): Tensor2D {
    const flat = tf.reshape(ids, [-1]);
    return (this.params ? gatherRows(this.t(table) as Tensor2D, flat) : tf.gather(this.t(table), flat)) as Tensor2D;
  }

  /** A tracked linear with its hooks applied. */
  trackedLinear(module: TrackedModule, x: Tensor2D, hooks: ForwardHooks | undefined): Tensor2D {
    if (this.tracked.includes(module)) hooks?.onInput?.(module.name, x);
    const override = hooks?.weightOverrides?.get(module.name);
    let y: Tensor2D;
    if (override) {
      y = matMul2(x, override.wT);
      if (override.b) y = tf.add(y, override.b);
    } else {
      y = this.linear(x, module.weight);
      if (module.bias) y = tf.add(y, this.t(module.bias));
    }
    if (!this.tracked.includes(module)) return y;
    const tap = hooks?.taps?.get(module.name);
    return tap ? tf.add(y, tap) : y;
  }

  /**
   * ids [B, L] int32 → logits [B·L, vocab]. Positions attend causally, so right padding is inert. With a
   * cache, the ids follow the cached positions and their keys and values are added to it (decoding).
   */
  forward(ids: Tensor2D, hooks?: ForwardHooks, cache?: KvCache): Tensor2D {
    if (this.disposed) throw new Error('model was disposed');
    const L = ids.shape[1] + (cache?.length ?? 0);
    if (L > this.config.maxSeqLen) {
      throw new Error(`sequence of ${L} tokens exceeds the model's context of ${this.config.maxSeqLen}`);
    }
    return family(this.config.architecture).forward(this, ids, hooks, cache);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [...this.tensors.values(), ...this.constants.values()]) t.dispose();
    this.tensors.clear();
    this.constants.clear();
  }
}
