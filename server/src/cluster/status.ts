/**
 * `status RUN_DIR`: every stage of a planned run and every shard of the sharded ones — done, missing or
 * corrupt (with why) — read from what is on disk, verified as merge and load verify it (records'
 * checksums, files' hashes, Λ's eigenbasis), so a user knows exactly what to resubmit.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  type FactorManifest,
  FILE_LIMITS,
  InfluenceLensError,
  readFactorManifest,
  readIndexManifest,
  readJsonBounded,
  readResults,
  sha256File,
  stageIsValid,
  type StageName,
  verifySeal,
} from '../engine/api';
import { PLAN_FILE, PLAN_VERSION, type PlanFile } from './plan';
import { runPaths } from './pipeline';

export type ShardState = { shard: number; state: 'done' } | { shard: number; state: 'missing' } | { shard: number; state: 'corrupt'; why: string };

export interface StageStatus {
  name: string;
  state: 'done' | 'pending';
  /** Sharded stages that are not merged yet: each shard's state. */
  shards?: ShardState[];
}

export function readPlan(run: string): PlanFile {
  const file = join(run, PLAN_FILE);
  if (!existsSync(file))
    throw new InfluenceLensError('NOT_FOUND', `${run} is not a planned run: no ${PLAN_FILE} (influence-lens cluster plan writes it)`, { file });
  const p = readJsonBounded(file, { what: 'run plan', maxBytes: FILE_LIMITS.smallJson, code: 'RUN_CORRUPT' }) as PlanFile;
  if (p?.version !== PLAN_VERSION || !Array.isArray(p.stages) || !Number.isSafeInteger(p.shards) || p.shards < 1) {
    throw new InfluenceLensError('RUN_CORRUPT', `${file} is not a run plan this tool reads (version ${String(p?.version)})`, { file });
  }
  return p;
}

/** The error's sentence, naming its file when the sentence does not. */
function message(e: unknown): string {
  if (e instanceof InfluenceLensError && e.file && !e.message.includes(e.file)) return `${e.message} (${e.file})`;
  return e instanceof Error ? e.message : String(e);
}

/** A factor shard: its record's checksum, its file's hash, and for Λ the eigenbasis of the folder. */
async function factorShard(dir: string, manifest: FactorManifest | undefined, stage: StageName, i: number, n: number): Promise<ShardState> {
  const base = join(dir, 'shards', `${stage}.${i}-of-${n}`);
  if (!existsSync(`${base}.json`)) return { shard: i, state: 'missing' };
  try {
    const r = readJsonBounded(`${base}.json`, { what: 'shard record', maxBytes: FILE_LIMITS.smallJson, code: 'FACTORS_CORRUPT' }) as {
      sha256?: string;
      basis?: string | null;
    };
    verifySeal(r, { file: `${base}.json`, what: 'shard record', code: 'FACTORS_CORRUPT', remedy: 'rerun the shard' });
    if (!existsSync(`${base}.safetensors`)) return { shard: i, state: 'corrupt', why: `${base}.safetensors is missing` };
    if ((await sha256File(`${base}.safetensors`)) !== r.sha256)
      return { shard: i, state: 'corrupt', why: `${base}.safetensors does not match its record's hash` };
    if (stage === 'lambda' && r.basis !== (manifest?.stages.eigen?.sha256 ?? null))
      return { shard: i, state: 'corrupt', why: "computed with another eigenbasis than the folder's" };
    return { shard: i, state: 'done' };
  } catch (e) {
    return { shard: i, state: 'corrupt', why: message(e) };
  }
}

function indexPart(dir: string, i: number): ShardState {
  if (!existsSync(join(dir, 'manifest.json'))) return { shard: i, state: 'missing' };
  try {
    readIndexManifest(dir);
    return { shard: i, state: 'done' };
  } catch (e) {
    return { shard: i, state: 'corrupt', why: message(e) };
  }
}

/** A results folder: done when it loads (checksums and hashes verified) and is the shard it should be. */
function resultsPart(dir: string, i: number, n: number): ShardState {
  if (!existsSync(join(dir, 'results.json'))) return { shard: i, state: 'missing' };
  try {
    const r = readResults(dir);
    if (r.results.method.shard !== `${i}/${n}`)
      return { shard: i, state: 'corrupt', why: `${dir} holds shard ${r.results.method.shard ?? 'none'}, not ${i}/${n}` };
    return { shard: i, state: 'done' };
  } catch (e) {
    return { shard: i, state: 'corrupt', why: message(e) };
  }
}

/** The worse of two shard states (an index part missing makes its Λ shard missing). */
function worse(a: ShardState, b: ShardState): ShardState {
  const rank = { done: 0, missing: 1, corrupt: 2 };
  return rank[b.state] > rank[a.state] ? b : a;
}

export async function runStatus(run: string): Promise<{ plan: PlanFile; stages: StageStatus[] }> {
  const plan = readPlan(run);
  const at = runPaths(run);
  const n = plan.shards;
  let manifest: FactorManifest | undefined;
  try {
    manifest = readFactorManifest(at.factors);
  } catch {
    manifest = undefined; // a corrupt manifest: every factor stage shows as pending
  }
  const valid = async (stage: StageName) => !!manifest && (await stageIsValid(at.factors, manifest, stage));
  const results = (dir: string) => {
    try {
      readResults(dir);
      return true;
    } catch {
      return false;
    }
  };
  const all = <T>(f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
  const out: StageStatus[] = [];
  for (const s of plan.stages) {
    const done = (ok: boolean): StageStatus => ({ name: s.name, state: ok ? 'done' : 'pending' });
    switch (s.name) {
      case 'covariance':
      case 'lambda': {
        const stage = s.name;
        const merged = (await valid(stage)) && (stage !== 'lambda' || !plan.index || existsSync(join(at.index, 'manifest.json')));
        if (merged) {
          out.push(done(true));
          break;
        }
        const shards = await Promise.all(
          all(async (i) => {
            const f = await factorShard(at.factors, manifest, stage, i, n);
            return stage === 'lambda' && plan.index ? worse(f, indexPart(at.indexPart(i), i)) : f;
          }),
        );
        out.push({ name: s.name, state: shards.every((x) => x.state === 'done') ? 'done' : 'pending', shards });
        break;
      }
      case 'merge-covariance':
        out.push(done(await valid('covariance')));
        break;
      case 'eigen':
        out.push(done(await valid('eigen')));
        break;
      case 'merge-lambda':
        out.push(done((await valid('lambda')) && (!plan.index || indexPart(at.index, 0).state === 'done')));
        break;
      case 'score': {
        const shards = all((i) => resultsPart(at.scorePart(i), i, n));
        out.push({ name: s.name, state: shards.every((x) => x.state === 'done') ? 'done' : 'pending', shards });
        break;
      }
      case 'merge-scores':
        out.push(done(results(at.results)));
        break;
      case 'analyze':
        out.push(done(existsSync(join(at.results, 'analysis.json')) && existsSync(join(at.results, 'report.html'))));
        break;
      default:
        out.push(done(false));
    }
  }
  return { plan, stages: out };
}
