/**
 * The factor folder: one safetensors file per completed stage plus manifest.json, which records what the
 * factors belong to (model and corpus fingerprints, settings) and each stage's file hash. Every file is
 * written atomically and the manifest only after its stage's file, so an interrupted or cancelled stage
 * leaves nothing that loads as valid; loading re-hashes the files and refuses anything that differs.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { readSafetensors, writeSafetensors } from '../model/safetensors';
import type { HostTensor } from '../model/types';
import { writeTextAtomically } from '../util/atomic';
import { sha256File } from '../util/hash';
import type { FitSettings, Strategy } from './types';
import { TOOL_VERSION } from '../version';

export const STAGES = ['covariance', 'eigen', 'lambda'] as const;
export type StageName = (typeof STAGES)[number];

export function stagesFor(strategy: Strategy): StageName[] {
  switch (strategy) {
    case 'ekfac':
      return ['covariance', 'eigen', 'lambda'];
    case 'kfac':
      return ['covariance', 'eigen'];
    case 'diagonal':
      return ['lambda'];
    case 'identity':
      return [];
  }
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

export interface FactorManifest extends FactorIdentity {
  version: 1;
  tool: string;
  stages: Partial<Record<StageName, StageRecord>>;
}

const MANIFEST = 'manifest.json';

export function readManifest(dir: string): FactorManifest | undefined {
  const path = join(dir, MANIFEST);
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as FactorManifest;
    if (m.version !== 1 || !m.settings || !m.stages) throw new Error('not a factor manifest');
    return m;
  } catch (e) {
    throw new InfluenceLensError('FACTORS_CORRUPT', `unreadable factor manifest: ${(e as Error).message}`, { file: path });
  }
}

/** Human-readable differences between two identities (empty when they agree). */
export function identityDifferences(have: FactorIdentity, want: FactorIdentity, ignoreCorpus = false): string[] {
  const out: string[] = [];
  if (have.model.fingerprint !== want.model.fingerprint) {
    out.push(`model: factors were fitted for ${have.model.path} (fingerprint ${have.model.fingerprint.slice(0, 12)}), not ${want.model.path} (${want.model.fingerprint.slice(0, 12)})`);
  }
  if (!ignoreCorpus && have.corpus.fingerprint !== want.corpus.fingerprint) {
    out.push(`corpus: factors were fitted on ${have.corpus.path} (fingerprint ${have.corpus.fingerprint.slice(0, 12)}), not ${want.corpus.path} (${want.corpus.fingerprint.slice(0, 12)})`);
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
  const manifest: FactorManifest = { version: 1, tool: TOOL_VERSION, ...identity, stages: {} };
  writeTextAtomically(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
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
  writeSafetensors(join(dir, file), tensors, { metadata: { stage, tool: TOOL_VERSION } });
  manifest.stages[stage] = { file, sha256: await sha256File(join(dir, file)), ...record };
  writeTextAtomically(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}

/** A stage's tensors after checking the file against the manifest's hash. */
export async function readStage(dir: string, manifest: FactorManifest, stage: StageName): Promise<Map<string, HostTensor>> {
  const record = manifest.stages[stage];
  if (!record) throw new InfluenceLensError('FACTORS_INCOMPLETE', `the ${stage} stage has not been fitted`, { file: join(dir, MANIFEST) });
  const path = join(dir, record.file);
  if (!existsSync(path)) throw new InfluenceLensError('FACTORS_CORRUPT', `${stage} factors are missing`, { file: path });
  if ((await sha256File(path)) !== record.sha256) {
    throw new InfluenceLensError('FACTORS_CORRUPT', `${stage} factors do not match the manifest's hash (modified or corrupt); refit this stage`, { file: path });
  }
  return readSafetensors(path);
}

/** Whether a stage is recorded and its file is intact. */
export async function stageIsValid(dir: string, manifest: FactorManifest, stage: StageName): Promise<boolean> {
  const record = manifest.stages[stage];
  if (!record || !existsSync(join(dir, record.file))) return false;
  return (await sha256File(join(dir, record.file))) === record.sha256;
}

/** Removes a stage and every stage after it from the manifest (their inputs changed). */
export function invalidateFrom(dir: string, manifest: FactorManifest, stage: StageName): void {
  for (const s of STAGES.slice(STAGES.indexOf(stage))) delete manifest.stages[s];
  writeTextAtomically(join(dir, MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
}

// ---- shards: partial sums of one stage, merged by `merge` ----------------------------------------

export interface ShardRecord extends Omit<StageRecord, 'file' | 'sha256' | 'shards'> {
  stage: StageName;
  index: number;
  count: number;
}

const SHARDS = 'shards';
const shardBase = (stage: StageName, index: number, count: number) => `${stage}.${index}-of-${count}`;

export function writeShard(dir: string, record: ShardRecord, tensors: Map<string, HostTensor>): string {
  mkdirSync(join(dir, SHARDS), { recursive: true });
  const base = join(dir, SHARDS, shardBase(record.stage, record.index, record.count));
  writeSafetensors(base + '.safetensors', tensors, { metadata: { stage: record.stage, shard: `${record.index}/${record.count}` } });
  writeTextAtomically(base + '.json', JSON.stringify(record, null, 2) + '\n');
  return base + '.safetensors';
}

/** The shard records present for a stage (a shard counts once both its files are there). */
export function listShards(dir: string, stage: StageName): ShardRecord[] {
  const folder = join(dir, SHARDS);
  if (!existsSync(folder)) return [];
  return readdirSync(folder)
    .filter((f) => f.startsWith(stage + '.') && f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(folder, f), 'utf8')) as ShardRecord)
    .filter((r) => existsSync(join(folder, shardBase(r.stage, r.index, r.count) + '.safetensors')))
    .sort((a, b) => a.index - b.index);
}

export function readShard(dir: string, r: ShardRecord): Map<string, HostTensor> {
  return readSafetensors(join(dir, SHARDS, shardBase(r.stage, r.index, r.count) + '.safetensors'));
}

export function removeShards(dir: string, stage: StageName): void {
  const folder = join(dir, SHARDS);
  if (!existsSync(folder)) return;
  for (const f of readdirSync(folder)) if (f.startsWith(stage + '.')) rmSync(join(folder, f), { force: true });
}
