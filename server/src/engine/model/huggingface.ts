/**
 * Hugging Face model folders (config.json + model.safetensors, or a sharded
 * model.safetensors.index.json) for LlamaForCausalLM and GPT2LMHeadModel, read into and written
 * from the canonical form of types.ts. Two layout differences are undone here:
 *  - HF Llama permutes q_proj/k_proj rows for rotate-half RoPE; canonical uses consecutive pairs.
 *  - GPT-2's Conv1D stores weights [in, out]; canonical is [out, in].
 * Pickled weights are never loaded.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { InfluenceLensError } from '../errors';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type FloatDtype } from './safetensors';
import { writeFileAtomically } from '../util/atomic';
import { FILE_LIMITS, fsErrorSentence, readJsonBounded } from '../util/files';
import { assertFinite } from '../util/finite';
import type { Checkpoint, HostTensor, ModelConfig, Weights } from './types';

export const SUPPORTED_MODEL_TYPES = ['llama', 'gpt2'] as const;
export const PICKLE_EXTENSIONS = ['.pt', '.pth', '.ckpt', '.pkl', '.pickle'];

export function pickleRefusal(file: string): InfluenceLensError {
  return new InfluenceLensError(
    'PICKLE_REFUSED',
    `refusing to load pickled weights (${file}); convert the checkpoint to safetensors`,
    { file },
  );
}

function isPickleName(name: string): boolean {
  return PICKLE_EXTENSIONS.includes(extname(name).toLowerCase()) || /^pytorch_model.*\.bin(\.index\.json)?$/.test(name);
}

// ---- layout: canonical name ↔ HF name, stored shape, transform -------------------------------

type Transform = { kind: 'none' } | { kind: 'transpose' } | { kind: 'rope'; heads: number };

interface Slot {
  canonical: string;
  hf: string;
  /** Shape as stored in the HF file. */
  hfShape: number[];
  transform: Transform;
}

const NONE: Transform = { kind: 'none' };
const TRANSPOSE: Transform = { kind: 'transpose' };

function llamaSlots(c: ModelConfig, tied: boolean): Slot[] {
  const hd = c.dim / c.nHeads;
  const slots: Slot[] = [
    { canonical: 'embed', hf: 'model.embed_tokens.weight', hfShape: [c.vocabSize, c.dim], transform: NONE },
    { canonical: 'final_norm', hf: 'model.norm.weight', hfShape: [c.dim], transform: NONE },
  ];
  if (!tied) slots.push({ canonical: 'lm_head', hf: 'lm_head.weight', hfShape: [c.vocabSize, c.dim], transform: NONE });
  for (let i = 0; i < c.nLayers; i++) {
    const l = `model.layers.${i}`;
    const L = `layers.${i}`;
    slots.push(
      { canonical: `${L}.attn_norm`, hf: `${l}.input_layernorm.weight`, hfShape: [c.dim], transform: NONE },
      { canonical: `${L}.wq`, hf: `${l}.self_attn.q_proj.weight`, hfShape: [c.nHeads * hd, c.dim], transform: { kind: 'rope', heads: c.nHeads } },
      { canonical: `${L}.wk`, hf: `${l}.self_attn.k_proj.weight`, hfShape: [c.nKvHeads * hd, c.dim], transform: { kind: 'rope', heads: c.nKvHeads } },
      { canonical: `${L}.wv`, hf: `${l}.self_attn.v_proj.weight`, hfShape: [c.nKvHeads * hd, c.dim], transform: NONE },
      { canonical: `${L}.wo`, hf: `${l}.self_attn.o_proj.weight`, hfShape: [c.dim, c.nHeads * hd], transform: NONE },
      { canonical: `${L}.mlp_norm`, hf: `${l}.post_attention_layernorm.weight`, hfShape: [c.dim], transform: NONE },
      { canonical: `${L}.w1`, hf: `${l}.mlp.gate_proj.weight`, hfShape: [c.hiddenDim, c.dim], transform: NONE },
      { canonical: `${L}.w3`, hf: `${l}.mlp.up_proj.weight`, hfShape: [c.hiddenDim, c.dim], transform: NONE },
      { canonical: `${L}.w2`, hf: `${l}.mlp.down_proj.weight`, hfShape: [c.dim, c.hiddenDim], transform: NONE },
    );
  }
  return slots;
}

function gpt2Slots(c: ModelConfig, tied: boolean, prefix: string): Slot[] {
  const p = prefix;
  const d = c.dim;
  const slots: Slot[] = [
    { canonical: 'embed', hf: `${p}wte.weight`, hfShape: [c.vocabSize, d], transform: NONE },
    { canonical: 'pos_embed', hf: `${p}wpe.weight`, hfShape: [c.maxSeqLen, d], transform: NONE },
    { canonical: 'final_norm.weight', hf: `${p}ln_f.weight`, hfShape: [d], transform: NONE },
    { canonical: 'final_norm.bias', hf: `${p}ln_f.bias`, hfShape: [d], transform: NONE },
  ];
  if (!tied) slots.push({ canonical: 'lm_head', hf: 'lm_head.weight', hfShape: [c.vocabSize, d], transform: NONE });
  for (let i = 0; i < c.nLayers; i++) {
    const h = `${p}h.${i}`;
    const L = `layers.${i}`;
    slots.push(
      { canonical: `${L}.ln1.weight`, hf: `${h}.ln_1.weight`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln1.bias`, hf: `${h}.ln_1.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.qkv.weight`, hf: `${h}.attn.c_attn.weight`, hfShape: [d, 3 * d], transform: TRANSPOSE },
      { canonical: `${L}.qkv.bias`, hf: `${h}.attn.c_attn.bias`, hfShape: [3 * d], transform: NONE },
      { canonical: `${L}.proj.weight`, hf: `${h}.attn.c_proj.weight`, hfShape: [d, d], transform: TRANSPOSE },
      { canonical: `${L}.proj.bias`, hf: `${h}.attn.c_proj.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln2.weight`, hf: `${h}.ln_2.weight`, hfShape: [d], transform: NONE },
      { canonical: `${L}.ln2.bias`, hf: `${h}.ln_2.bias`, hfShape: [d], transform: NONE },
      { canonical: `${L}.fc.weight`, hf: `${h}.mlp.c_fc.weight`, hfShape: [d, c.hiddenDim], transform: TRANSPOSE },
      { canonical: `${L}.fc.bias`, hf: `${h}.mlp.c_fc.bias`, hfShape: [c.hiddenDim], transform: NONE },
      { canonical: `${L}.fc_proj.weight`, hf: `${h}.mlp.c_proj.weight`, hfShape: [c.hiddenDim, d], transform: TRANSPOSE },
      { canonical: `${L}.fc_proj.bias`, hf: `${h}.mlp.c_proj.bias`, hfShape: [d], transform: NONE },
    );
  }
  return slots;
}

// ---- tensor transforms ----------------------------------------------------------------------

export function transpose2d(t: HostTensor): HostTensor {
  const [r, c] = t.shape;
  const out = new Float32Array(r * c);
  for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[j * r + i] = t.data[i * c + j];
  return { shape: [c, r], data: out };
}

/**
 * Within each head of hd rows, HF row j*hd/2 + k holds the consecutive-pair row 2k + j
 * (convert_llama_weights_to_hf.py `permute`). toHf=false undoes it (export.py permute_reverse).
 */
export function permuteRopeRows(t: HostTensor, heads: number, toHf: boolean): HostTensor {
  const [rows, cols] = t.shape;
  const hd = rows / heads;
  const half = hd / 2;
  const out = new Float32Array(rows * cols);
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < 2; j++) {
      for (let k = 0; k < half; k++) {
        const pair = h * hd + 2 * k + j;
        const hf = h * hd + j * half + k;
        const [from, to] = toHf ? [pair, hf] : [hf, pair];
        out.set(t.data.subarray(from * cols, (from + 1) * cols), to * cols);
      }
    }
  }
  return { shape: [rows, cols], data: out };
}

function fromHf(t: HostTensor, tr: Transform): HostTensor {
  if (tr.kind === 'transpose') return transpose2d(t);
  if (tr.kind === 'rope') return permuteRopeRows(t, tr.heads, false);
  return t;
}

function toHf(t: HostTensor, tr: Transform): HostTensor {
  if (tr.kind === 'transpose') return transpose2d(t);
  if (tr.kind === 'rope') return permuteRopeRows(t, tr.heads, true);
  return t;
}

// ---- config.json ----------------------------------------------------------------------------

type Json = Record<string, unknown>;

class ConfigReader {
  constructor(
    readonly file: string,
    readonly json: Json,
  ) {}

  fail(code: 'MODEL_FORMAT' | 'UNSUPPORTED', msg: string): InfluenceLensError {
    return new InfluenceLensError(code, `${this.file}: ${msg}`, { file: this.file });
  }

  int(key: string, fallback?: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) {
      throw this.fail('MODEL_FORMAT', v === undefined ? `missing "${key}"` : `"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.json[key] ?? fallback;
    if (typeof v !== 'number' || !(v > 0)) throw this.fail('MODEL_FORMAT', `"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v;
  }

  /** Token ids may be a list (several EOS tokens); the first is the canonical one. */
  tokenId(key: string, fallback: number): number {
    let v = this.json[key];
    if (Array.isArray(v)) v = v[0];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw this.fail('MODEL_FORMAT', `"${key}" must be a token id, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.json[key];
    return typeof v === 'boolean' ? v : fallback;
  }

  refuseIf(cond: boolean, what: string): void {
    if (cond) throw this.fail('UNSUPPORTED', `${what} is not supported`);
  }
}

function llamaConfigFrom(r: ConfigReader): ModelConfig {
  const dim = r.int('hidden_size');
  const nHeads = r.int('num_attention_heads');
  const nKvHeads = r.int('num_key_value_heads', nHeads);
  const rs = r.json.rope_scaling;
  r.refuseIf(rs !== undefined && rs !== null, `rope_scaling ${JSON.stringify(rs)}`);
  r.refuseIf((r.json.hidden_act ?? 'silu') !== 'silu', `hidden_act ${JSON.stringify(r.json.hidden_act)} (only silu)`);
  r.refuseIf(r.bool('attention_bias', false), 'attention_bias: true');
  r.refuseIf(r.bool('mlp_bias', false), 'mlp_bias: true');
  if (dim % nHeads !== 0 || nHeads % nKvHeads !== 0 || (dim / nHeads) % 2 !== 0) {
    throw r.fail('MODEL_FORMAT', `hidden_size ${dim}, num_attention_heads ${nHeads}, num_key_value_heads ${nKvHeads} do not divide into even heads`);
  }
  const headDim = r.json.head_dim;
  r.refuseIf(headDim !== undefined && headDim !== null && headDim !== dim / nHeads, `head_dim ${String(headDim)} != hidden_size / num_attention_heads`);
  return {
    architecture: 'llama',
    vocabSize: r.int('vocab_size'),
    dim,
    hiddenDim: r.int('intermediate_size'),
    nLayers: r.int('num_hidden_layers'),
    nHeads,
    nKvHeads,
    maxSeqLen: r.int('max_position_embeddings', 2048),
    normEps: r.num('rms_norm_eps', 1e-6),
    ropeTheta: r.num('rope_theta', 10000),
    activation: 'silu',
    bosId: r.tokenId('bos_token_id', 1),
    eosId: r.tokenId('eos_token_id', 2),
  };
}

const GPT2_ACTIVATIONS: Record<string, ModelConfig['activation']> = {
  gelu_new: 'gelu_new',
  gelu_pytorch_tanh: 'gelu_new', // the same tanh approximation
  gelu: 'gelu',
};

function gpt2ConfigFrom(r: ConfigReader): ModelConfig {
  const dim = r.int('n_embd');
  const nHeads = r.int('n_head');
  const act = (r.json.activation_function ?? 'gelu_new') as string;
  const activation = GPT2_ACTIVATIONS[act];
  r.refuseIf(activation === undefined, `activation_function ${JSON.stringify(act)} (supported: ${Object.keys(GPT2_ACTIVATIONS).join(', ')})`);
  r.refuseIf(r.bool('scale_attn_by_inverse_layer_idx', false), 'scale_attn_by_inverse_layer_idx: true');
  r.refuseIf(!r.bool('scale_attn_weights', true), 'scale_attn_weights: false');
  r.refuseIf(r.bool('add_cross_attention', false), 'add_cross_attention: true');
  if (dim % nHeads !== 0) throw r.fail('MODEL_FORMAT', `n_embd ${dim} is not divisible by n_head ${nHeads}`);
  const inner = r.json.n_inner;
  return {
    architecture: 'gpt2',
    vocabSize: r.int('vocab_size'),
    dim,
    hiddenDim: inner === undefined || inner === null ? 4 * dim : r.int('n_inner'),
    nLayers: r.int('n_layer'),
    nHeads,
    nKvHeads: nHeads,
    maxSeqLen: r.int('n_positions', typeof r.json.n_ctx === 'number' ? r.json.n_ctx : undefined),
    normEps: r.num('layer_norm_epsilon', 1e-5),
    ropeTheta: 10000, // unused by GPT-2
    activation: activation as ModelConfig['activation'],
    bosId: r.tokenId('bos_token_id', 50256),
    eosId: r.tokenId('eos_token_id', 50256),
  };
}

// ---- reading --------------------------------------------------------------------------------

interface WeightFiles {
  /** HF tensor name → absolute shard path. */
  where: Map<string, string>;
  /** The file to name when a tensor is missing (the index for sharded checkpoints). */
  describedBy: string;
  files: string[];
}

/** Finds safetensors weights; refuses pickles; undefined when there are no weights at all. */
function locateWeights(dir: string, names: string[]): WeightFiles | undefined {
  const indexPath = join(dir, 'model.safetensors.index.json');
  if (names.includes('model.safetensors.index.json')) {
    const index = readJsonBounded(indexPath, { what: 'sharded checkpoint index', maxBytes: FILE_LIMITS.smallJson, code: 'MODEL_FORMAT' }) as { weight_map?: unknown } | null;
    const map = index?.weight_map;
    if (typeof map !== 'object' || map === null) {
      throw new InfluenceLensError('MODEL_FORMAT', `${indexPath}: missing "weight_map"`, { file: indexPath });
    }
    const where = new Map<string, string>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string') {
        throw new InfluenceLensError('MODEL_FORMAT', `${indexPath}: weight_map["${name}"] is not a file name`, { file: indexPath });
      }
      const path = resolve(dir, shard);
      const rel = relative(resolve(dir), path);
      if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) {
        throw new InfluenceLensError('MODEL_FORMAT', `${indexPath}: weight_map["${name}"] names ${JSON.stringify(shard)}, which lies outside the model folder`, { file: indexPath });
      }
      where.set(name, path);
    }
    const files = [...new Set(where.values())].sort();
    for (const f of files) {
      if (!existsSync(f)) throw new InfluenceLensError('NOT_FOUND', `${indexPath}: shard ${f} does not exist`, { file: indexPath });
    }
    return { where, describedBy: indexPath, files };
  }
  // model.safetensors, or failing that a single *.safetensors file under another name.
  const singles = names.filter((n) => n.endsWith('.safetensors'));
  const single = names.includes('model.safetensors') ? 'model.safetensors' : singles.length === 1 ? singles[0] : undefined;
  if (single) {
    const path = join(dir, single);
    const where = new Map<string, string>();
    for (const name of readSafetensorsHeader(path).tensors.keys()) where.set(name, path);
    return { where, describedBy: path, files: [path] };
  }
  const pickles = names.filter(isPickleName).sort((a, b) => Number(b.startsWith('pytorch_model')) - Number(a.startsWith('pytorch_model')));
  if (pickles.length > 0) throw pickleRefusal(join(dir, pickles[0]));
  return undefined;
}

export function readHuggingFaceFolder(dir: string): Checkpoint {
  let names: string[];
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    names = readdirSync(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'IO';
    throw new InfluenceLensError(code, fsErrorSentence(e, `model folder ${dir}`), { file: dir, cause: e });
  }
  const weightFiles = locateWeights(dir, names);

  const configPath = join(dir, 'config.json');
  if (!names.includes('config.json')) {
    throw new InfluenceLensError('MODEL_FORMAT', `${dir}: no config.json in the model folder`, { file: configPath });
  }
  const json = readJsonBounded(configPath, { what: 'model config', maxBytes: FILE_LIMITS.smallJson, code: 'MODEL_FORMAT' });
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InfluenceLensError('MODEL_FORMAT', `${configPath}: not a JSON object`, { file: configPath });
  }
  const r = new ConfigReader(configPath, json as Json);
  const modelType = r.json.model_type;
  if (modelType !== 'llama' && modelType !== 'gpt2') {
    throw new InfluenceLensError(
      'UNSUPPORTED',
      `${configPath}: model_type ${JSON.stringify(modelType)} is not supported (supported: ${SUPPORTED_MODEL_TYPES.join(', ')})`,
      { file: configPath },
    );
  }
  if (!weightFiles) {
    throw new InfluenceLensError('NOT_FOUND', `${dir}: no model.safetensors or model.safetensors.index.json in the model folder`, {
      file: dir,
    });
  }

  const config = modelType === 'llama' ? llamaConfigFrom(r) : gpt2ConfigFrom(r);
  // LlamaConfig defaults to untied, GPT2Config to tied (as in transformers).
  const tied = r.bool('tie_word_embeddings', modelType === 'gpt2');
  const prefix = weightFiles.where.has('transformer.wte.weight') ? 'transformer.' : '';
  const slots = modelType === 'llama' ? llamaSlots(config, tied) : gpt2Slots(config, tied, prefix);

  for (const s of slots) {
    if (!weightFiles.where.has(s.hf)) {
      const hint = s.canonical === 'lm_head' ? ' (or set "tie_word_embeddings": true in config.json)' : '';
      throw new InfluenceLensError('MODEL_FORMAT', `${weightFiles.describedBy}: missing tensor "${s.hf}"${hint}`, {
        file: weightFiles.describedBy,
      });
    }
  }
  const weights: Weights = new Map();
  for (const file of weightFiles.files) {
    const wanted = new Map(slots.filter((s) => weightFiles.where.get(s.hf) === file).map((s) => [s.hf, s]));
    const got = readSafetensors(file, { filter: (n) => wanted.has(n) });
    for (const [hf, s] of wanted) {
      const t = got.get(hf);
      if (!t) throw new InfluenceLensError('MODEL_FORMAT', `${file}: missing tensor "${hf}"`, { file });
      if (t.shape.join() !== s.hfShape.join()) {
        throw new InfluenceLensError(
          'MODEL_FORMAT',
          `${file}: tensor "${hf}" has shape ${JSON.stringify(t.shape)} but config.json implies ${JSON.stringify(s.hfShape)}`,
          { file },
        );
      }
      assertFinite(t.data, `tensor "${hf}"`, { file, code: 'MODEL_FORMAT', remedy: 'the checkpoint is corrupt or diverged' });
      weights.set(s.canonical, fromHf(t, s.transform));
    }
  }
  if (tied) {
    const embed = weights.get('embed') as HostTensor;
    weights.set('lm_head', { shape: [...embed.shape], data: embed.data });
  }
  return { config, weights, source: { kind: 'huggingface', path: dir, files: weightFiles.files } };
}

// ---- writing --------------------------------------------------------------------------------

const TORCH_DTYPE: Record<FloatDtype, string> = { F32: 'float32', F16: 'float16', BF16: 'bfloat16' };

function sameValues(a: HostTensor, b: HostTensor): boolean {
  if (a.data === b.data) return true;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

function hfConfigJson(c: ModelConfig, tied: boolean, dtype: FloatDtype): Json {
  if (c.architecture === 'llama') {
    return {
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      vocab_size: c.vocabSize,
      hidden_size: c.dim,
      intermediate_size: c.hiddenDim,
      num_hidden_layers: c.nLayers,
      num_attention_heads: c.nHeads,
      num_key_value_heads: c.nKvHeads,
      max_position_embeddings: c.maxSeqLen,
      rms_norm_eps: c.normEps,
      rope_theta: c.ropeTheta,
      rope_scaling: null,
      hidden_act: 'silu',
      attention_bias: false,
      mlp_bias: false,
      bos_token_id: c.bosId,
      eos_token_id: c.eosId,
      tie_word_embeddings: tied,
      torch_dtype: TORCH_DTYPE[dtype],
    };
  }
  return {
    architectures: ['GPT2LMHeadModel'],
    model_type: 'gpt2',
    vocab_size: c.vocabSize,
    n_embd: c.dim,
    n_inner: c.hiddenDim === 4 * c.dim ? null : c.hiddenDim,
    n_layer: c.nLayers,
    n_head: c.nHeads,
    n_positions: c.maxSeqLen,
    n_ctx: c.maxSeqLen,
    activation_function: c.activation,
    layer_norm_epsilon: c.normEps,
    bos_token_id: c.bosId,
    eos_token_id: c.eosId,
    tie_word_embeddings: tied,
    torch_dtype: TORCH_DTYPE[dtype],
  };
}

/**
 * Writes config.json + model.safetensors in the layout transformers' save_pretrained produces
 * (GPT-2 under the `transformer.` prefix), re-permuting Llama q/k and transposing GPT-2 Conv1D.
 */
export function writeHuggingFaceFolder(dir: string, checkpoint: Checkpoint, opts: { dtype?: FloatDtype } = {}): void {
  const c = checkpoint.config;
  const dtype = opts.dtype ?? 'F32';
  const fail = (msg: string) => new InfluenceLensError('MODEL_FORMAT', `${dir}: ${msg}`, { file: dir });
  if (c.architecture === 'gpt2' && c.nKvHeads !== c.nHeads) throw fail('GPT-2 has no grouped-query attention (nKvHeads must equal nHeads)');
  if (c.architecture === 'gpt2' && c.activation === 'silu') throw fail('GPT-2 uses gelu_new or gelu, not silu');
  const get = (name: string): HostTensor => {
    const t = checkpoint.weights.get(name);
    if (!t) throw fail(`checkpoint has no tensor "${name}"`);
    return t;
  };
  const tied = sameValues(get('embed'), get('lm_head'));
  const slots = c.architecture === 'llama' ? llamaSlots(c, tied) : gpt2Slots(c, tied, 'transformer.');
  const tensors = new Map<string, HostTensor>();
  for (const s of slots) {
    const t = toHf(get(s.canonical), s.transform);
    if (t.shape.join() !== s.hfShape.join()) {
      throw fail(`tensor "${s.canonical}" has shape ${JSON.stringify(get(s.canonical).shape)}, which does not match the config`);
    }
    tensors.set(s.hf, t);
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { dtype, metadata: { format: 'pt' } });
  const config = Buffer.from(JSON.stringify(hfConfigJson(c, tied, dtype), null, 2) + '\n', 'utf8');
  writeFileAtomically(join(dir, 'config.json'), (write) => write(config));
}
