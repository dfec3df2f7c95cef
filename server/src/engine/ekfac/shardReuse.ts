/**
 * A shard that an earlier attempt already wrote intact (a scheduler's retry after the write, or a rerun of
 * the whole plan to resume): reused as it is, so a retry costs nothing and leaves the same bytes.
 */
import { join } from 'node:path';
import { sha256File } from '../util/hash';
import type { Shard } from '../corpus/sequences';
import { listShards, type FactorManifest, type StageName } from './store';

/** This shard's file, when its record verifies, its file matches the record's hash and (for Λ) the folder's eigenbasis. */
export async function intactShardFile(dir: string, manifest: FactorManifest, stage: StageName, shard: Shard): Promise<string | undefined> {
  let records;
  try {
    records = listShards(dir, stage);
  } catch {
    return undefined; // an unreadable record is recomputed and overwritten; merge names it if it stays
  }
  const r = records.find((s) => s.index === shard.index && s.count === shard.count);
  if (!r) return undefined;
  const basis = stage === 'lambda' ? (manifest.stages.eigen?.sha256 ?? null) : null;
  if (r.basis !== basis) return undefined;
  const file = join(dir, 'shards', r.file);
  return (await sha256File(file)) === r.sha256 ? file : undefined;
}
