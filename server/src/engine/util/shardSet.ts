/**
 * Merging the parts of a sharded run (score --shard i/n, index --shard i/n): only the complete set is
 * merged, so that a merged folder always covers the whole corpus. A part that is not a shard, shards of
 * different counts, a shard given twice, or a missing one are refused, naming the parts.
 */
import { InfluenceLensError } from '../errors';

export interface ShardPart {
  dir: string;
  /** "i/n" as the part records it, or null for a whole (or already merged) run. */
  shard: string | null;
}

/** The shard count of a complete set of parts; throws naming what is wrong otherwise. */
export function completeShardCount(parts: ShardPart[], o: { command: string; code?: string }): number {
  const parsed = parts.map((p) => {
    const m = typeof p.shard === 'string' ? /^(\d+)\/(\d+)$/.exec(p.shard) : null;
    return { ...p, index: m ? Number(m[1]) : -1, count: m ? Number(m[2]) : -1 };
  });
  const whole = parsed.find((p) => p.count < 1);
  if (whole) {
    throw new InfluenceLensError(
      'SHARDS_MISMATCH',
      `${whole.dir} is not a shard (it was made without --shard, or is already merged): merge joins every shard of one sharded run (${o.command} --shard i/n)`,
      { file: whole.dir },
    );
  }
  const n = parsed[0].count;
  const odd = parsed.find((p) => p.count !== n);
  if (odd)
    throw new InfluenceLensError(
      'SHARDS_MISMATCH',
      `${odd.dir} is shard ${odd.shard} but ${parsed[0].dir} is shard ${parsed[0].shard}: they are not parts of one run`,
      { file: odd.dir },
    );
  const seen = new Map<number, string>();
  for (const p of parsed) {
    const before = seen.get(p.index);
    if (before !== undefined) throw new InfluenceLensError('SHARDS_MISMATCH', `shard ${p.shard} is given twice: ${before} and ${p.dir}`, { file: p.dir });
    seen.set(p.index, p.dir);
  }
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !seen.has(i));
  if (missing.length > 0) {
    throw new InfluenceLensError(
      o.code ?? 'SHARDS_INCOMPLETE',
      `the shards given are ${parsed.length} of ${n}: missing ${missing.map((i) => `${i}/${n}`).join(', ')}; ${o.command} ${missing.length === 1 ? 'it' : 'them'} (--shard i/${n}) and merge all ${n} together (nothing was written)`,
      { file: parsed[0].dir },
    );
  }
  return n;
}
