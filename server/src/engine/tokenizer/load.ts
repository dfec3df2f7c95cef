/** Finds and loads the tokenizer that belongs to a checkpoint. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { loadHuggingFaceTokenizer } from './huggingface';
import { loadLlama2cTokenizer } from './llama2c';
import type { Tokenizer } from './types';

export interface LoadTokenizerOptions {
  /** The checkpoint: a Hugging Face model folder, or a llama2.c .bin file. */
  modelPath: string;
  /** Explicit tokenizer: a llama2.c .bin, or a Hugging Face folder / tokenizer.json. */
  tokenizerPath?: string;
  /** From the model's config (llama2.c tokenizer files do not record it). */
  vocabSize: number;
  format: 'huggingface' | 'llama2c';
}

export async function loadTokenizer(opts: LoadTokenizerOptions): Promise<Tokenizer> {
  if (opts.format === 'huggingface') {
    // loadHuggingFaceTokenizer takes a folder or a tokenizer.json file and names what is missing.
    return loadHuggingFaceTokenizer(opts.tokenizerPath ?? opts.modelPath, opts.vocabSize);
  }
  return loadLlama2cTokenizer(opts.tokenizerPath ?? llama2cBeside(opts.modelPath), opts.vocabSize);
}

/** llama2.c's run.c defaults to tokenizer.bin; look for it beside the checkpoint. */
function llama2cBeside(modelPath: string): string {
  const folder = existsSync(modelPath) && statSync(modelPath).isDirectory() ? modelPath : dirname(modelPath);
  const candidate = join(folder, 'tokenizer.bin');
  if (existsSync(candidate)) return candidate;
  throw new InfluenceLensError('NOT_FOUND', 'missing tokenizer: pass --tokenizer PATH (llama2.c tokenizer .bin)', {
    file: candidate,
  });
}
