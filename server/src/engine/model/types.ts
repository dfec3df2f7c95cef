/**
 * The canonical in-memory form of a checkpoint, whatever file format it came from.
 * Loaders translate their files into this; forward passes read only this.
 */

export type Architecture = 'llama' | 'gpt2';

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

export interface Checkpoint {
  config: ModelConfig;
  weights: Weights;
  /** Where it came from, for messages and manifests. */
  source: { kind: 'huggingface' | 'llama2c'; path: string; files: string[] };
}
