/**
 * Fitted factors opened for a model: the model they were fitted for (checked by fingerprint), the tracked
 * modules they cover (the pool is switched to them), and the maximum length runs use with them.
 */
import { join } from 'node:path';
import { loadFactors, type LoadedFactors } from '../ekfac/load';
import { readManifest } from '../ekfac/store';
import { InfluenceLensError } from '../errors';
import { checkMaxLen } from './defaults';
import type { ModelRun } from './modelRun';

export interface FactorSet {
  dir: string;
  factors: LoadedFactors;
  /** Tokens per document ([BOS] included): the length the factors were fitted with unless overridden. */
  maxLen: number;
}

export async function openFactorSet(run: ModelRun, dir: string, o: { maxLen?: number } = {}): Promise<FactorSet> {
  const manifest = readManifest(dir);
  if (!manifest) throw new InfluenceLensError('NOT_FOUND', `no factors in ${dir} (run influence-lens fit first)`, { file: join(dir, 'manifest.json') });
  await run.track(manifest.settings.modules);
  const factors = await loadFactors(dir, { model: await run.modelId() });
  return { dir, factors, maxLen: checkMaxLen(o.maxLen ?? manifest.settings.maxLen, run.context) };
}
