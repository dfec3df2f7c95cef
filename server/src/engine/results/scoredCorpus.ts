/**
 * Whether a corpus is the one a results folder was scored on. results.json records the corpus fingerprint
 * (every byte of every file, and the field names it was read with); a consumer that shows or analyses
 * document text (analyze, report, the panel) compares it before using any text: ids and sources alone
 * do not tell an edited document from the one scored (after an edit that kept them, "answer in the top 5"
 * once went from 0% to 100%).
 */
import { join } from 'node:path';
import { corpusFingerprint } from '../corpus/fingerprint';
import type { CorpusOptions } from '../corpus/types';
import { isInfluenceLensError } from '../errors';
import type { LoadedResults } from './types';

/** Why `fingerprint` (of the corpus at `path`) is not the scored corpus's, or undefined when it is. */
export function corpusChanged(loaded: Pick<LoadedResults, 'dir' | 'results'>, path: string, fingerprint: string): string | undefined {
  const recorded = loaded.results.corpus.fingerprint;
  if (fingerprint === recorded) return undefined;
  return (
    `the corpus at ${path} is not the one scored: its fingerprint is ${fingerprint.slice(0, 12)}, ${join(loaded.dir, 'results.json')} records ${String(recorded).slice(0, 12)} ` +
    '(its text or file names changed since scoring, or it is read with other --text-field/--id-field/--source-field than score used); ' +
    'pass --corpus with the corpus that was scored'
  );
}

/** The same after fingerprinting the corpus (a full read); a corpus that cannot be read is a reason too. */
export async function scoredCorpusProblem(
  loaded: Pick<LoadedResults, 'dir' | 'results'>,
  corpus: CorpusOptions,
  signal?: AbortSignal,
): Promise<string | undefined> {
  let fingerprint: string;
  try {
    fingerprint = await corpusFingerprint(corpus, signal);
  } catch (e) {
    if (!isInfluenceLensError(e)) throw e;
    return e.message;
  }
  return corpusChanged(loaded, corpus.path, fingerprint);
}
