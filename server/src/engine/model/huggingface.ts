/**
 * Hugging Face model folders (config.json + model.safetensors, or a sharded
 * model.safetensors.index.json), read into and written from the canonical form of types.ts. The family
 * named by config.json's model_type (arch/registry.ts) says how the config maps, which tensors to read and
 * how each becomes canonical (arch/layout.ts). Pickled weights are never loaded.
 */
import { existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';
import { InfluenceLensError } from '../errors';
import { readSafetensors, readSafetensorsHeader, writeSafetensors, type FloatDtype } from './safetensors';
import { writeFileAtomically } from '../util/atomic';
import { FILE_LIMITS, fsErrorSentence, readJsonBounded } from '../util/files';
import { assertFinite } from '../util/finite';
import type { Checkpoint, HostTensor, ModelConfig, Weights } from './types';
import { ConfigReader, type Json } from './arch/configReader';
import { family, familyForModelType } from './arch/registry';
import type { Family } from './arch/family';
import { fromHf, toHf, type Slot } from './arch/layout';
import { availableBytes, checkMemory, weightBytes } from './memory';

export { SUPPORTED_MODEL_TYPES } from './arch/registry';
export { permuteRopeRows, transpose2d } from './arch/layout';
export const PICKLE_EXTENSIONS = ['.pt', '.pth', '.ckpt', '.pkl', '.pickle'];

export function pickleRefusal(file: string): InfluenceLensError {
  return new InfluenceLensError('PICKLE_REFUSED', `refusing to load pickled weights (${file}); convert the checkpoint to safetensors`, { file });
}

function isPickleName(name: string): boolean {
  return PICKLE_EXTENSIONS.includes(extname(name).toLowerCase()) || /^pytorch_model.*\.bin(\.index\.json)?$/.test(name);
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
    const index = readJsonBounded(indexPath, { what: 'sharded checkpoint index', maxBytes: FILE_LIMITS.smallJson, code: 'MODEL_FORMAT' }) as {
      weight_map?: unknown;
    } | null;
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
        throw new InfluenceLensError(
          'MODEL_FORMAT',
          `${indexPath}: weight_map["${name}"] names ${JSON.stringify(shard)}, which lies outside the model folder`,
          { file: indexPath },
        );
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

/**
 * The config's layer count against the layers the weight files hold, before anything is built per layer:
 * a num_hidden_layers of millions would otherwise exhaust memory before the first missing tensor.
 */
function checkLayerCount(fam: Family, config: ModelConfig, configPath: string, weightFiles: WeightFiles): void {
  const found = new Set<number>();
  for (const name of weightFiles.where.keys()) {
    const m = fam.layers.pattern.exec(name);
    if (m) found.add(Number(m[1]));
  }
  if (found.size !== config.nLayers) {
    throw new InfluenceLensError(
      'MODEL_FORMAT',
      `${configPath}: "${fam.layers.key}" is ${config.nLayers} but ${weightFiles.describedBy} holds tensors of ${found.size} layer(s)`,
      { file: configPath },
    );
  }
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
  const fam = familyForModelType(r.json.model_type, configPath);
  if (!weightFiles) {
    throw new InfluenceLensError('NOT_FOUND', `${dir}: no model.safetensors or model.safetensors.index.json in the model folder`, {
      file: dir,
    });
  }

  const config = fam.configFrom(r);
  checkLayerCount(fam, config, configPath, weightFiles);
  // From config.json alone, before any tensor is read (a hostile hidden_size is refused here too).
  checkMemory({ 'weights as float32': weightBytes(config).host }, availableBytes(), { file: configPath, remedy: 'this machine cannot hold its weights' });
  const tied = r.bool('tie_word_embeddings', fam.tiedByDefault);
  const slots = fam.slots(config, tied, new Set(weightFiles.where.keys()));

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
    const wanted = new Map<string, Slot[]>();
    for (const s of slots) if (weightFiles.where.get(s.hf) === file) wanted.set(s.hf, [...(wanted.get(s.hf) ?? []), s]);
    const got = readSafetensors(file, { filter: (n) => wanted.has(n) });
    for (const [hf, parts] of wanted) {
      const t = got.get(hf);
      if (!t) throw new InfluenceLensError('MODEL_FORMAT', `${file}: missing tensor "${hf}"`, { file });
      if (t.shape.join() !== parts[0].hfShape.join()) {
        throw new InfluenceLensError(
          'MODEL_FORMAT',
          `${file}: tensor "${hf}" has shape ${JSON.stringify(t.shape)} but config.json implies ${JSON.stringify(parts[0].hfShape)}`,
          { file },
        );
      }
      assertFinite(t.data, `tensor "${hf}"`, { file, code: 'MODEL_FORMAT', remedy: 'the checkpoint is corrupt or diverged' });
      for (const s of parts) weights.set(s.canonical, fromHf(t, s.transform));
    }
  }
  if (tied) {
    const embed = weights.get('embed') as HostTensor;
    weights.set('lm_head', { shape: [...embed.shape], data: embed.data });
  }
  return { config, weights, source: { kind: 'huggingface', path: dir, files: weightFiles.files } };
}

// ---- writing --------------------------------------------------------------------------------

function sameValues(a: HostTensor, b: HostTensor): boolean {
  if (a.data === b.data) return true;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/**
 * Writes config.json + model.safetensors in the layout transformers' save_pretrained produces (GPT-2
 * under the `transformer.` prefix), for the families that declare their config.json.
 */
export function writeHuggingFaceFolder(dir: string, checkpoint: Checkpoint, opts: { dtype?: FloatDtype } = {}): void {
  const c = checkpoint.config;
  const dtype = opts.dtype ?? 'F32';
  const fail = (msg: string) => new InfluenceLensError('MODEL_FORMAT', `${dir}: ${msg}`, { file: dir });
  const fam = family(c.architecture);
  const get = (name: string): HostTensor => {
    const t = checkpoint.weights.get(name);
    if (!t) throw fail(`checkpoint has no tensor "${name}"`);
    return t;
  };
  const tied = sameValues(get('embed'), get('lm_head'));
  let config: Json;
  try {
    if (!fam.hfConfig) throw new Error(`writing ${c.architecture} folders is not supported`);
    config = fam.hfConfig(c, tied, dtype);
  } catch (e) {
    throw fail((e as Error).message);
  }
  const tensors = new Map<string, HostTensor>();
  for (const s of fam.slots(c, tied)) {
    const size = s.hfShape.reduce((a, b) => a * b, 1);
    const into = s.transform.kind === 'rows' ? (tensors.get(s.hf) ?? { shape: s.hfShape, data: new Float32Array(size) }) : undefined;
    const t = toHf(get(s.canonical), s.transform, into);
    if (t.shape.join() !== s.hfShape.join()) {
      throw fail(`tensor "${s.canonical}" has shape ${JSON.stringify(get(s.canonical).shape)}, which does not match the config`);
    }
    tensors.set(s.hf, t);
  }
  mkdirSync(dir, { recursive: true });
  writeSafetensors(join(dir, 'model.safetensors'), tensors, { dtype, metadata: { format: 'pt' } });
  const bytes = Buffer.from(JSON.stringify(config, null, 2) + '\n', 'utf8');
  writeFileAtomically(join(dir, 'config.json'), (write) => write(bytes));
}
