/**
 * The artefacts hovers need, where they live and how each stands: the cache folder of a set of settings
 * (under the storage root of paths.ts), the factor and index folders in it unless the settings name their
 * own, the stamps that tell a changed file, and the status sentence of the corpus, the factors and the index.
 */
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { corpusInput, describeError, readFactorManifest, type FactorSet, type OpenIndex } from '../engine/api';
import type { ArtefactStatus } from '../protocol';
import type { InfluenceLensSettings } from '../settings';
import { storageRoot } from './paths';

/** The default cache folder for these settings (keyed by model, tokenizer, corpus and what shapes the fit). */
export function cacheDir(storageDir: string | undefined, s: InfluenceLensSettings): string {
  const key = createHash('sha256')
    .update(JSON.stringify([s.model, s.tokenizer, s.corpus, s.strategy, s.fitMaxDocuments, s.maxLength]))
    .digest('hex')
    .slice(0, 16);
  return join(storageRoot(storageDir), 'caches', key);
}

export function factorsDir(storageDir: string | undefined, s: InfluenceLensSettings): string {
  return s.factors || join(cacheDir(storageDir, s), 'factors');
}

/** Beside the factors the settings name (`<factors>-index`), else in the cache folder. */
export function indexDir(storageDir: string | undefined, s: InfluenceLensSettings): string {
  return s.index || join(s.factors ? dirname(s.factors) : cacheDir(storageDir, s), s.factors ? `${basename(s.factors)}-index` : 'index');
}

/** mtime and size of a file or folder (0 when absent): a changed file reloads what was built from it. */
export function fileStamp(path: string): string {
  try {
    const st = statSync(path);
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return '0';
  }
}

/** The manifest a fit or an index build writes in its folder: its stamp tells a refit or a rebuild. */
export function manifestOf(dir: string): string {
  return join(dir, 'manifest.json');
}

/** Whether `dir` holds a factor manifest; an unreadable one counts (opening the factors reports it). */
export function hasFactors(dir: string): boolean {
  try {
    return readFactorManifest(dir) !== undefined;
  } catch {
    return true;
  }
}

export function hasIndex(dir: string): boolean {
  return existsSync(manifestOf(dir));
}

export async function corpusStatus(path: string): Promise<ArtefactStatus> {
  if (!path) return { state: 'none', detail: 'no corpus configured (influenceLens.corpus)' };
  try {
    const input = await corpusInput(path);
    return { state: 'ready', path, detail: `${input.format}, ${input.files.length} file(s), ${formatBytes(input.totalBytes)}` };
  } catch (e) {
    return { state: 'error', path, detail: describeError(e).message };
  }
}

export function factorsReady(path: string, set: FactorSet): ArtefactStatus {
  const m = set.factors.manifest;
  const documents = m.stages.lambda?.documents ?? m.stages.covariance?.documents ?? '?';
  return { state: 'ready', path, detail: `${m.settings.strategy} factors fitted on ${documents} documents (maximum length ${set.maxLen})` };
}

/** No factors there yet ('none' while no model is configured: nothing could be fitted). */
export function factorsMissing(path: string, hasModel: boolean): ArtefactStatus {
  return { state: hasModel ? 'missing' : 'none', path, detail: 'not fitted yet (Influence Lens: Fit Factors)' };
}

export function factorsFailed(path: string, e: unknown): ArtefactStatus {
  return { state: 'error', path, detail: describeError(e).message };
}

export function indexReady(path: string, open: OpenIndex): ArtefactStatus {
  return { state: 'ready', path, detail: `${open.searcher.documents.length.toLocaleString('en-US')} documents` };
}

/** No index there yet ('none' while there are no factors: nothing could be indexed). */
export function indexMissing(path: string, factorsLoaded: boolean): ArtefactStatus {
  return { state: factorsLoaded ? 'missing' : 'none', path, detail: 'not built yet (Influence Lens: Build Index)' };
}

/** A broken index is no outage: hovers score exactly without it. */
export function indexFailed(path: string, e: unknown): ArtefactStatus {
  return { state: 'error', path, detail: `${describeError(e).message} (hovers score exactly; Influence Lens: Build Index)` };
}

function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(1)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  return `${Math.max(1, Math.round(n / 1024))} KiB`;
}
