/**
 * A Hugging Face `tokenizer.json` (plus `tokenizer_config.json` when present) behind our
 * Tokenizer interface, via @huggingface/tokenizers. The engine adds BOS itself, so encode
 * never adds special tokens.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, readJsonBounded } from '../util/files';
import type { Tokenizer } from './types';
import { checkBpeModel } from './bpeMerges';

/** Special tokens we recognise when tokenizer_config.json does not name BOS/EOS. */
const WELL_KNOWN_BOS = ['<s>', '<|begin_of_text|>', '<|endoftext|>'];
const WELL_KNOWN_EOS = ['</s>', '<|end_of_text|>', '<|endoftext|>'];

type Json = Record<string, unknown>;

/**
 * `path` is a model folder holding tokenizer.json, or the tokenizer.json file itself. With `modelVocab`
 * (config.json's vocab_size), a tokenizer with ids beyond it is refused here rather than failing later
 * in the model's embedding lookup.
 */
export function loadHuggingFaceTokenizer(path: string, modelVocab?: number): Tokenizer {
  const file = existsSync(path) && statSync(path).isDirectory() ? join(path, 'tokenizer.json') : path;
  const json = readJson(file, 'Hugging Face tokenizer');
  if (json === undefined) throw new InfluenceLensError('NOT_FOUND', `Hugging Face tokenizer not found: ${file}`, { file });
  if (typeof json.model !== 'object' || json.model === null) {
    throw new InfluenceLensError('MODEL_FORMAT', `malformed tokenizer.json ${file}: no "model" object`, { file });
  }
  checkBpeModel(json.model as Json, file);
  // The library iterates added_tokens unconditionally; older files may omit it.
  json.added_tokens ??= [];
  const configFile = join(dirname(file), 'tokenizer_config.json');
  const config = readJson(configFile, 'tokenizer config') ?? {};
  const bosConfigured = tokenContent(config.bos_token);
  const eosConfigured = tokenContent(config.eos_token);
  let hf: HfTokenizer;
  try {
    // The library reads bos/eos/unk as plain strings; configs may store them as AddedToken objects.
    hf = new HfTokenizer(json, { ...config, bos_token: bosConfigured ?? undefined, eos_token: eosConfigured ?? undefined });
  } catch (e) {
    throw new InfluenceLensError('MODEL_FORMAT', `cannot build a tokenizer from ${file}: ${(e as Error).message}`, { file, cause: e });
  }
  const idOf = (token: string | null | undefined) => (token ? (hf.token_to_id(token) ?? -1) : -1);
  const firstKnown = (names: string[]) => idOf(names.find((n) => hf.token_to_id(n) !== undefined));
  // A config that names the token (even as null) decides; otherwise fall back to well-known names.
  const bosId = 'bos_token' in config ? idOf(bosConfigured) : firstKnown(WELL_KNOWN_BOS);
  const eosId = 'eos_token' in config ? idOf(eosConfigured) : firstKnown(WELL_KNOWN_EOS);
  let maxId = -1;
  for (const id of hf.get_vocab(true).values()) maxId = Math.max(maxId, id);
  if (modelVocab !== undefined && maxId >= modelVocab) {
    throw new InfluenceLensError(
      'MODEL_FORMAT',
      `${file}: the tokenizer has ids up to ${maxId} but the model's vocabulary holds ${modelVocab} (vocab_size): it is the tokenizer of another model`,
      { file },
    );
  }
  return new HuggingFaceTokenizer(hf, maxId + 1, bosId, eosId, file);
}

class HuggingFaceTokenizer implements Tokenizer {
  readonly kind = 'huggingface' as const;

  constructor(
    private readonly hf: HfTokenizer,
    readonly vocabSize: number,
    readonly bosId: number,
    readonly eosId: number,
    private readonly file: string,
  ) {}

  encode(text: string): number[] {
    if (text.length === 0) return [];
    const ids = this.hf.encode(text, { add_special_tokens: false }).ids;
    // Models without an unk token map unknown pieces to undefined rather than failing.
    if (ids.some((id) => id === undefined))
      throw new InfluenceLensError('UNSUPPORTED', `${this.file} cannot encode ${JSON.stringify(text.slice(0, 40))}`, { file: this.file });
    return ids;
  }

  /**
   * The tokenizer's own decoder over `ids` alone, as `tokenizer.decode(ids)` in transformers (without
   * special tokens' removal or cleanup, so pieces concatenate back to the text). `prev` is ignored: a
   * Llama tokenizer's Strip decoder removes the leading space of a completion decoded on its own, and
   * that text is the one that encodes back to the same tokens.
   */
  decode(ids: number[], _prev?: number): string {
    if (ids.length === 0) return '';
    return this.hf.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }
}

/** bos_token/eos_token may be a string, an AddedToken object ({content}), or null. */
function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

/** Parsed JSON object, or undefined when the file does not exist. */
function readJson(file: string, what: string): Json | undefined {
  if (!existsSync(file)) return undefined;
  const parsed = readJsonBounded(file, { what, maxBytes: FILE_LIMITS.largeJson, code: 'MODEL_FORMAT' });
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InfluenceLensError('MODEL_FORMAT', `malformed ${what} ${file}: not a JSON object`, { file });
  }
  return parsed as Json;
}
