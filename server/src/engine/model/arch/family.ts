/**
 * What every architecture family declares, once, in its own file; arch/registry.ts lists them all.
 * The loader and TfModel look a family up here instead of branching on its name.
 */
import type { Tensor2D } from '../../tf';
import type { FloatDtype } from '../safetensors';
import type { ModelConfig } from '../types';
import type { ForwardHooks, TfModel, TrackedModule } from '../tfModel';
import type { KvCache } from '../kvCache';
import type { ConfigReader, Json } from './configReader';
import type { Slot } from './layout';

export interface Family {
  /** The config.json `model_type`s it reads. */
  modelTypes: readonly string[];
  /** config.json → canonical config, refusing (by name) the fields it does not implement. */
  configFrom(r: ConfigReader): ModelConfig;
  /** The config.json field that counts the layers, and how a tensor name gives its layer (checked before anything per layer is built). */
  layers: { key: string; pattern: RegExp };
  /** transformers' default for tie_word_embeddings in this family's config class. */
  tiedByDefault: boolean;
  /** The HF tensors and the canonical ones they become (`hfNames`: what the checkpoint holds, where a layout has variants). */
  slots(c: ModelConfig, tied: boolean, hfNames?: ReadonlySet<string>): Slot[];
  /** config.json for writing a folder of this family, where the project writes them (conversions, tests). */
  hfConfig?(c: ModelConfig, tied: boolean, dtype: FloatDtype): Json;
  /** Canonical weights used as linears (uploaded transposed as well), matched as a name or a name's last part. */
  linears: readonly string[];
  /** MLP linears per layer that influence tracks (3 for a gated MLP, 2 for GPT-2's): the cluster planner's estimate, read without loading a model. */
  mlpLinears: number;
  /** The MLP linears influence tracks, in layer order. */
  trackedModules(c: ModelConfig): TrackedModule[];
  /** ids [B, L] → logits [B·L, vocab]. */
  forward(m: TfModel, ids: Tensor2D, hooks?: ForwardHooks, cache?: KvCache): Tensor2D;
}

export const TORCH_DTYPE: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };
