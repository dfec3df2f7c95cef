/**
 * The factor folder: one safetensors file per completed stage plus manifest.json, which records what the
 * factors belong to (model and corpus fingerprints, settings) and each stage's file hash, and a checksum
 * over all of that (so an edited count or setting is refused, not used). Every file is written
 * atomically and the manifest only after its stage's file, so an interrupted or cancelled stage leaves
 * nothing that loads as valid; loading re-hashes the files and refuses anything that differs.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { readSafetensors, writeSafetensors } from '../model/safetensors';
import type { HostTensor } from '../model/types';
import { writeTextAtomically } from '../util/atomic';
import { FILE_LIMITS, readJsonBounded, statRegularFile } from '../util/files';
import { assertFinite } from '../util/finite';
import { sha256File } from '../util/hash';
import { assertOutputKind } from '../util/output';
import { seal, verifySeal } from '../util/seal';
import { STRATEGY_SPECS } from './strategies';
import { FISHER_MODES, STAGES, STRATEGIES, type FitSettings, type StageName, type Strategy } from './types';
import { TOOL_VERSION } from '../version';

// Re-exported: the store's importers name stages through it.
export { STAGES, type StageName };

export function stagesFor(strategy: Strategy): StageName[] {
  return [...STRATEGY_SPECS[strategy].stages];
}

/** What a factor set belongs to. Two sets are interchangeable exactly when these agree. */
export interface FactorIdentity {
  model: { fingerprint: string; path: string; architecture: string };
  corpus: { fingerprint: string; path: string };
  settings: FitSettings;
}

export interface StageRecord {
  file: string;
  sha256: string;
  documents: number;
  tokens: number;
  /** Corpus lines/files skipped as malformed while this stage read the corpus. */
  skipped: number;
  shards?: number;
}

/** The factor manifest format (2: the manifest and shard records carry metadata checksums). */
export const FACTORS_VERSION = 2;

export interface FactorManifest extends FactorIdentity {
  version: typeof FACTORS_VERSION;
  tool: string;
  stages: Partial<Record<StageName, StageRecord>>;
  /** sha256 of the canonical JSON of every other field (util/seal.ts): counts and settings are verified on load. */
  metadataSha256?: string;
}

const MANIFEST = 'manifest.json';
const REFIT = 'delete the folder and run fit again';

function corrupt(message: string, file: string): InfluenceLensError {
  return new InfluenceLensError('FACTORS_CORRUPT', message, { file });
}

/** The manifest, its checksum and its shape checked; undefined when the folder has none. */
export function readManifest(dir: string): FactorManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  const m = readJsonBounded(path, { what: 'factor manifest', maxBytes: FILE_LIMITS.smallJson, code: 'FACTORS_CORRUPT' }) as FactorManifest;
  const version = (m as { version?: unknown } | null)?.version;
  if (typeof version === 'number' && version < FACTORS_VERSION) {
    throw new InfluenceLensError(
      'FACTORS_OUTDATED',
      `the factors in ${dir} were written by an older influence-lens (manifest version ${version}, without a metadata checksum), so their counts and settings cannot be verified; ${REFIT}`,
      { file: path },
    );
  }
  if (version !== FACTORS_VERSION) throw corrupt(`${path} is not a factor manifest this tool reads (version ${String(version)})`, path);
  verifySeal(m, { file: path, what: 'factor manifest', code: 'FACTORS_CORRUPT', remedy: REFIT });
  const problem = manifestProblem(m);
  if (problem) throw corrupt(`factor manifest ${path}: ${problem}; ${REFIT}`, path);
  return m;
}

const isCount = (x: unknown, min = 0) => typeof x === 'number' && Number.isSafeInteger(x) && x >= min;

/** What is wrong with a (checksummed) manifest's shape, if anything: a hand-made one must not crash a consumer. */
function manifestProblem(m: FactorManifest): string | undefined {
  const s = m.settings;
  if (!s || typeof s !== 'object') return 'no settings';
  if (!(STRATEGIES as readonly unknown[]).includes(s.strategy)) return `unknown strategy ${JSON.stringify(s.strategy)}`;
  if (!(FISHER_MODES as readonly unknown[]).includes(s.fisher)) return `unknown fisher ${JSON.stringify(s.fisher)}`;
  if (!isCount(s.maxLen, 2) || !isCount(s.maxDocs, 1) || !isCount(s.seed)) return 'maxLen, maxDocs or seed is not a whole number in range';
  if (!Array.isArray(s.modules) || !s.modules.every((x) => typeof x === 'string')) return 'modules is not a list of names';
  if (!m.model || typeof m.model.fingerprint !== 'string' || !m.stages || typeof m.stages !== 'object') return 'no model fingerprint or stages';
  for (const [stage, r] of Object.entries(m.stages)) {
    if (!(STAGES as readonly string[]).includes(stage) || !r) return `unknown stage ${JSON.stringify(stage)}`;
    if (r.file !== `${stage}.safetensors` || typeof r.sha256 !== 'string') return `the ${stage} stage names ${JSON.stringify(r.file)}`;
    if (!isCount(r.documents, 1) || !isCount(r.tokens, 1) || !isCount(r.skipped)) return `the ${stage} stage's counts are not positive whole numbers`;
  }
  return undefined;
}

/** Seals and writes the manifest atomically (the in-memory copy gets the new checksum). */
function writeManifest(dir: string, manifest: FactorManifest): void {
  const sealed = seal(manifest);
  manifest.metadataSha256 = sealed.metadataSha256;
  writeTextAtomically(join(dir, MANIFEST), JSON.stringify(sealed, null, 2) + '\n');
}

/** Human-readable differences between two identities (empty when they agree). */
export function identityDifferences(have: FactorIdentity, want: FactorIdentity, ignoreCorpus = false): string[] {
  const out: string[] = [];
  if (have.model.fingerprint !== want.model.fingerprint) {
    out.push(
      `model: factors were fitted for ${have.model.path} (fingerprint ${have.model.fingerprint.slice(0, 12)}), not ${want.model.path} (${want.model.fingerprint.slice(0, 12)})`,
    );
  }
  if (!ignoreCorpus && have.corpus.fingerprint !== want.corpus.fingerprint) {
    out.push(
      `corpus: factors were fitted on ${have.corpus.path} (fingerprint ${have.corpus.fingerprint.slice(0, 12)}), not ${want.corpus.path} (${want.corpus.fingerprint.slice(0, 12)})`,
    );
  }
  for (const key of Object.keys(want.settings) as (keyof FitSettings)[]) {
    const a = JSON.stringify(have.settings[key]);
    const b = JSON.stringify(want.settings[key]);
    if (a !== b) out.push(`${key}: factors have ${a}, requested ${b}`);
  }
  return out;
}

/** Opens (creating if needed) a factor folder for this identity; refuses one that belongs to another. */
export function openFactorFolder(dir: string, identity: FactorIdentity): FactorManifest {
  assertOutputKind(dir, 'factors');
  mkdirSync(dir, { recursive: true });
  const existing = readManifest(dir);
  if (existing) {
    const diff = identityDifferences(existing, identity);
    if (diff.length > 0) {
      throw new InfluenceLensError(
        'FACTORS_MISMATCH',
        `${dir} holds factors for something else:\n  ${diff.join('\n  ')}\nuse another --out folder or delete this one`,
        { file: join(dir, MANIFEST) },
      );
    }
    return existing;
  }
  const manifest: FactorManifest = { version: FACTORS_VERSION, tool: TOOL_VERSION, ...identity, stages: {} };
  writeManifest(dir, manifest);
  return manifest;
}

/** NaN or ±Infinity in any tensor: refused, naming the tensor (a sum overflowed, or an input was broken). */
function checkTensorsFinite(tensors: Map<string, HostTensor>, file: string, remedy: string): void {
  for (const [name, t] of tensors) assertFinite(t.data, `tensor "${name}"`, { file, code: 'FACTORS_NOT_FINITE', remedy });
}

/** Writes a stage's tensors, then records it in the manifest (in that order). */
export async function writeStage(
  dir: string,
  manifest: FactorManifest,
  stage: StageName,
  tensors: Map<string, HostTensor>,
  record: Omit<StageRecord, 'file' | 'sha256'>,
): Promise<void> {
  const file = `${stage}.safetensors`;
  checkTensorsFinite(tensors, join(dir, file), 'nothing was written');
  writeSafetensors(join(dir, file), tensors, { metadata: { stage, tool: TOOL_VERSION } });
  manifest.stages[stage] = { file, sha256: await sha256File(join(dir, file)), ...record };
  writeManifest(dir, manifest);
}

/** A stage's tensors after checking the file against the manifest's hash. */
export async function readStage(dir: string, manifest: FactorManifest, stage: StageName): Promise<Map<string, HostTensor>> {
  const record = manifest.stages[stage];
  if (!record) throw new InfluenceLensError('FACTORS_INCOMPLETE', `the ${stage} stage has not been fitted`, { file: join(dir, MANIFEST) });
  const path = join(dir, record.file);
  if (!existsSync(path)) throw corrupt(`${stage} factors are missing`, path);
  statRegularFile(path, `${stage} factors`);
  if ((await sha256File(path)) !== record.sha256) {
    throw corrupt(`${stage} factors do not match the manifest's hash (modified or corrupt); refit this stage`, path);
  }
  const tensors = readSafetensors(path);
  checkTensorsFinite(tensors, path, 'refit this stage');
  return tensors;
}

/** Whether a stage is recorded and its file is intact. */
export async function stageIsValid(dir: string, manifest: FactorManifest, stage: StageName): Promise<boolean> {
  const record = manifest.stages[stage];
  const path = record && join(dir, record.file);
  if (!path || !existsSync(path) || !statSync(path).isFile()) return false;
  return (await sha256File(path)) === record.sha256;
}

/** Removes a stage and every stage after it from the manifest (their inputs changed). */
export function invalidateFrom(dir: string, manifest: FactorManifest, stage: StageName): void {
  for (const s of STAGES.slice(STAGES.indexOf(stage))) delete manifest.stages[s];
  writeManifest(dir, manifest);
}

// ---- shards: partial sums of one stage, merged by `merge` ----------------------------------------

export interface ShardRecord extends Omit<StageRecord, 'file' | 'sha256' | 'shards'> {
  version: typeof FACTORS_VERSION;
  stage: StageName;
  index: number;
  count: number;
  /** The shard's safetensors file (in shards/) and its sha256, checked before merging. */
  file: string;
  sha256: string;
  /** For the eigenvalue correction: the sha256 of the eigen stage its gradients were rotated with. */
  basis: string | null;
  metadataSha256?: string;
}

const SHARDS = 'shards';
const shardBase = (stage: StageName, index: number, count: number) => `${stage}.${index}-of-${count}`;
const rerunShard = (r: { index: number; count: number }) => `run fit --shard ${r.index}/${r.count} again`;

/** Writes a shard's sums, then its record (with the sums' hash and, for Λ, the eigenbasis it used). */
export async function writeShard(
  dir: string,
  manifest: FactorManifest,
  shard: Pick<ShardRecord, 'stage' | 'index' | 'count' | 'documents' | 'tokens' | 'skipped'>,
  tensors: Map<string, HostTensor>,
): Promise<string> {
  mkdirSync(join(dir, SHARDS), { recursive: true });
  const base = join(dir, SHARDS, shardBase(shard.stage, shard.index, shard.count));
  const file = base + '.safetensors';
  checkTensorsFinite(tensors, file, 'nothing was written');
  writeSafetensors(file, tensors, { metadata: { stage: shard.stage, shard: `${shard.index}/${shard.count}` } });
  const { stage, index, count, documents, tokens, skipped } = shard;
  const basis = stage === 'lambda' ? (manifest.stages.eigen?.sha256 ?? null) : null;
  const record: ShardRecord = {
    version: FACTORS_VERSION,
    stage,
    index,
    count,
    documents,
    tokens,
    skipped,
    file: basename(file),
    sha256: await sha256File(file),
    basis,
  };
  writeTextAtomically(base + '.json', JSON.stringify(seal(record), null, 2) + '\n');
  return file;
}

/** The verified shard records present for a stage (a shard counts once both its files are there). */
export function listShards(dir: string, stage: StageName): ShardRecord[] {
  const folder = join(dir, SHARDS);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.startsWith(stage + '.') && f.endsWith('.json'))
    .map((f) => readShardRecord(join(folder, f)))
    .filter((r) => existsSync(join(folder, r.file)))
    .sort((a, b) => a.index - b.index);
}

function readShardRecord(path: string): ShardRecord {
  const r = readJsonBounded(path, { what: 'shard record', maxBytes: FILE_LIMITS.smallJson, code: 'FACTORS_CORRUPT' }) as ShardRecord;
  const remedy = 'delete it and its .safetensors file, and run that fit --shard again';
  verifySeal(r, { file: path, what: 'shard record', code: 'FACTORS_CORRUPT', remedy });
  const fine =
    r.version === FACTORS_VERSION &&
    (STAGES as readonly string[]).includes(r.stage) &&
    isCount(r.count, 1) &&
    isCount(r.index) &&
    r.index < r.count &&
    basename(path) === `${shardBase(r.stage, r.index, r.count)}.json` &&
    r.file === `${shardBase(r.stage, r.index, r.count)}.safetensors` &&
    isCount(r.documents) &&
    isCount(r.tokens) &&
    isCount(r.skipped);
  if (!fine) throw corrupt(`shard record ${path} does not describe the shard its name says; ${remedy}`, path);
  return r;
}

/** A shard's sums after checking them against the hash in its record. */
export async function readShard(dir: string, r: ShardRecord): Promise<Map<string, HostTensor>> {
  const path = join(dir, SHARDS, r.file);
  statRegularFile(path, 'factor shard');
  if ((await sha256File(path)) !== r.sha256)
    throw corrupt(`shard ${r.index}/${r.count} of the ${r.stage} stage does not match the hash in its record (modified or corrupt); ${rerunShard(r)}`, path);
  const tensors = readSafetensors(path);
  checkTensorsFinite(tensors, path, rerunShard(r));
  return tensors;
}

export function removeShards(dir: string, stage: StageName): void {
  const folder = join(dir, SHARDS);
  if (!existsSync(folder)) return;
  for (const f of readdirSync(folder)) if (f.startsWith(stage + '.')) rmSync(join(folder, f), { force: true });
}
