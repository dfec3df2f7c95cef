/**
 * A model's sizes for planning, read without loading its weights (a 35B checkpoint need not fit the
 * planning machine): a Hugging Face folder's config.json and weight file sizes, or a llama2.c header.
 */
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { familyForModelType, FILE_LIMITS, InfluenceLensError, readJsonBounded } from '../engine/api';

export interface ModelShape {
  dim: number;
  hiddenDim: number;
  layers: number;
  context: number;
  /** Parameters (from the weight files' bytes and dtype). */
  parameters: number;
  /** MLP linears per layer, the modules fitted by default (the family's `mlpLinears`). */
  mlpLinears: number;
}

const BYTES_PER_PARAM: Record<string, number> = { float32: 4, float16: 2, bfloat16: 2 };

export function readModelShape(path: string): ModelShape {
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `${path}: no such model file or folder`, { file: path });
  return statSync(path).isDirectory() ? huggingFace(path) : llama2c(path);
}

function huggingFace(dir: string): ModelShape {
  const file = join(dir, 'config.json');
  const c = readJsonBounded(file, { what: 'model config', maxBytes: FILE_LIMITS.smallJson, code: 'MODEL_FORMAT' }) as Record<string, unknown>;
  const n = (...keys: string[]) => keys.map((k) => c[k]).find((x): x is number => typeof x === 'number' && x > 0);
  const dim = n('hidden_size', 'n_embd', 'd_model');
  const layers = n('num_hidden_layers', 'n_layer');
  if (!dim || !layers) throw new InfluenceLensError('MODEL_FORMAT', `${file}: no hidden_size/n_embd or num_hidden_layers/n_layer`, { file });
  const weightBytes = readdirSync(dir)
    .filter((f) => f.endsWith('.safetensors'))
    .reduce((a, f) => a + statSync(join(dir, f)).size, 0);
  const bytes = BYTES_PER_PARAM[String(c.torch_dtype ?? 'float32')] ?? 4;
  return {
    dim,
    hiddenDim: n('intermediate_size', 'n_inner') ?? 4 * dim,
    layers,
    context: n('max_position_embeddings', 'n_positions', 'n_ctx') ?? 2048,
    parameters: Math.round(weightBytes / bytes),
    mlpLinears: familyForModelType(c.model_type, file).mlpLinears,
  };
}

/** llama2.c: seven int32 (dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len), then float32 weights. */
function llama2c(file: string): ModelShape {
  const head = Buffer.alloc(28);
  const fd = openSync(file, 'r');
  try {
    if (readSync(fd, head, 0, 28, 0) !== 28) throw new InfluenceLensError('MODEL_FORMAT', `${file}: too short for a llama2.c header`, { file });
  } finally {
    closeSync(fd);
  }
  const [dim, hiddenDim, layers, , , , context] = Array.from({ length: 7 }, (_, i) => head.readInt32LE(i * 4));
  if (!(dim > 0 && hiddenDim > 0 && layers > 0 && context > 0))
    throw new InfluenceLensError('MODEL_FORMAT', `${file}: not a llama2.c checkpoint (header ${dim}, ${hiddenDim}, ${layers}, …, ${context})`, { file });
  return { dim, hiddenDim, layers, context, parameters: Math.round((statSync(file).size - 28) / 4), mlpLinears: 3 };
}
