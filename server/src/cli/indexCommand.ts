/** `index`: the gradient index for fast queries (docs/INDEX.md). */
import { bytesPerRow, checkDamping, type IndexManifest, parseSketch, prepareOutput, runIndexBuild, sketchName } from '../engine/api';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, optStr, parse, str } from './args';
import { corpusOptions, withFactors } from './context';
import { resolveShard, SHARD_OPTIONS } from './shardEnv';

/** The flags that choose a sketch (index, and fit --index). */
export const SKETCH_OPTIONS = {
  sketch: { type: 'string' },
  'sketch-seed': { type: 'string' },
} as const;

export async function index(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    ...SKETCH_OPTIONS,
    factors: { type: 'string' },
    out: { type: 'string' },
    damping: { type: 'string' },
    'max-len': { type: 'string' },
    ...SHARD_OPTIONS,
  });
  const out = str(v, 'out');
  const sketch = optStr(v, 'sketch');
  if (sketch !== undefined) parseSketch(sketch); // a bad --sketch is refused before any work
  const damping = num(v, 'damping');
  if (damping !== undefined) checkDamping(damping);
  prepareOutput(out, 'index', [str(v, 'factors'), str(v, 'model'), str(v, 'corpus')]);
  const { shard, from } = resolveShard(optStr(v, 'shard'), optStr(v, 'shards'));
  const request = {
    corpus: corpusOptions(v),
    out,
    sketch,
    seed: int(v, 'sketch-seed', { min: 0 }),
    damping,
    shard,
    batchSize: int(v, 'batch-size'),
  };
  await withFactors(v, signal, async ({ run, factors, hooks }) => {
    if (shard) hooks.log(`shard ${shard.index}/${shard.count} (${from})`);
    const manifest = await runIndexBuild(run, factors, request, hooks);
    hooks.log(`index: ${describeIndex(out, manifest)}`);
  });
}

/** "DIR (N documents, sketch eigen:16x24, B bytes per document)" */
export function describeIndex(dir: string, m: IndexManifest): string {
  return `${dir} (${m.documents} documents, sketch ${sketchName(m.sketch)}, ${bytesPerRow(m.rows)} bytes per document)`;
}
