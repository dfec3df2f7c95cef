/**
 * The canonical in-memory form of a checkpoint, whatever file format it came from.
 * Loaders translate their files into this; forward passes read only this.
 */

import type { Architecture } from '../../common/models';

/** The families of arch/registry.ts (one file each under arch/), named in server/src/common/models.ts. */
export type { Architecture };

/** RoPE frequency scaling (transformers' rope_scaling): Llama 3's by wavelength band, or positions divided by a factor. */
export type RopeScaling =
  { kind: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositions: number } | { kind: 'linear'; factor: number };

export interface ModelConfig {
  architecture: Architecture;
  vocabSize: number;
  /** Model width (d_model). */
  dim: number;
  /** MLP inner width. */
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  /** Key/value heads (grouped-query attention); equals nHeads for GPT-2. */
  nKvHeads: number;
  /** Longest sequence the model accepts (llama: seq_len / max_position_embeddings; gpt2: n_positions). */
  maxSeqLen: number;
  /** RMSNorm (llama) or LayerNorm (gpt2) epsilon. */
  normEps: number;
  /** RoPE base (llama only). */
  ropeTheta: number;
  /** GPT-2 activation: 'gelu_new' (tanh approximation) or 'gelu' (erf). Llama always uses SiLU. */
  activation: 'silu' | 'gelu_new' | 'gelu';
  bosId: number;
  eosId: number;
  // Set only where a family needs them, so that the fingerprints of existing llama and gpt2 checkpoints stay as they were.
  /** Width of one head when it is not dim / nHeads (Qwen3, Mistral Nemo). */
  headDim?: number;
  /** The leading dims of each head that RoPE rotates, when not all (GPT-NeoX rotary_pct, Phi partial_rotary_factor). */
  rotaryDim?: number;
  ropeScaling?: RopeScaling;
  /** Logits are multiplied by this (Cohere's logit_scale). */
  logitScale?: number;
  /** GPT-NeoX: attention and MLP read the same residual and both add to it. */
  parallelResidual?: boolean;
}

/** A dense float32 tensor on the host, row-major. */
export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/**
 * Canonical weight names. Every linear weight is stored [out, in] (PyTorch's nn.Linear layout),
 * including GPT-2's Conv1D weights, which loaders transpose from their stored [in, out].
 *
 * llama (RoPE on consecutive pairs, as llama2.c; the HF loader un-permutes q/k):
 *   embed [vocab, dim]; lm_head [vocab, dim] (same data when tied); final_norm [dim]
 *   layers.{i}.attn_norm [dim], .wq [nHeads*hd, dim], .wk [nKv*hd, dim], .wv [nKv*hd, dim], .wo [dim, nHeads*hd]
 *   layers.{i}.mlp_norm [dim], .w1 (gate) [hidden, dim], .w3 (up) [hidden, dim], .w2 (down) [dim, hidden]
 * gpt2:
 *   embed [vocab, dim]; pos_embed [maxSeqLen, dim]; lm_head [vocab, dim]; final_norm.weight/.bias [dim]
 *   layers.{i}.ln1.weight/.bias, .qkv.weight [3dim, dim], .qkv.bias [3dim], .proj.weight [dim, dim], .proj.bias
 *   layers.{i}.ln2.weight/.bias, .fc.weight [hidden, dim], .fc.bias [hidden], .fc_proj.weight [dim, hidden], .fc_proj.bias [dim]
 */
export type Weights = Map<string, HostTensor>;
// The other families' canonical names are listed in arch/decoder.ts.

export interface Checkpoint {
  config: ModelConfig;
  weights: Weights;
  /** Where it came from, for messages and manifests. */
  source: { kind: 'huggingface' | 'llama2c'; path: string; files: string[] };
}
