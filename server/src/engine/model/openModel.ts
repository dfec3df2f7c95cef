/** A checkpoint together with its tokenizer: what every command starts from. */
import { loadCheckpoint } from './load';
import type { Checkpoint } from './types';
import { loadTokenizer } from '../tokenizer/load';
import type { Tokenizer } from '../tokenizer/types';

export interface OpenedModel {
  checkpoint: Checkpoint;
  tokenizer: Tokenizer;
}

export async function openModel(modelPath: string, tokenizerPath?: string): Promise<OpenedModel> {
  const checkpoint = loadCheckpoint(modelPath);
  const tokenizer = await loadTokenizer({
    modelPath,
    tokenizerPath,
    vocabSize: checkpoint.config.vocabSize,
    format: checkpoint.source.kind === 'llama2c' ? 'llama2c' : 'huggingface',
  });
  return { checkpoint, tokenizer };
}

/** BOS for sequences fed to this model: the tokenizer's, else the model config's. */
export function bosId(m: OpenedModel): number {
  return m.tokenizer.bosId >= 0 ? m.tokenizer.bosId : m.checkpoint.config.bosId;
}

/** Ids that end a generation: EOS, and BOS for llama2.c models (run.c stops when it samples BOS). */
export function stopIds(m: OpenedModel): number[] {
  const ids = new Set([m.checkpoint.config.eosId, m.tokenizer.eosId]);
  if (m.checkpoint.source.kind === 'llama2c') ids.add(bosId(m));
  return [...ids].filter((id) => id >= 0);
}
