/** `index`: the gradient index for fast queries (docs/INDEX.md). */
import { parseShard } from '../engine/corpus/sequences';
import { bytesPerRow } from '../engine/index/store';
import { runIndexBuild } from '../engine/runs/buildIndex';
import { keptEntries } from '../engine/index/build';
import { prepareOutput } from '../engine/util/output';
import { COMMON_OPTIONS, CORPUS_OPTIONS, MODEL_OPTIONS, int, num, optStr, parse, str } from './args';
import { corpusOptions, withFactors } from './context';

export async function index(argv: string[], signal: AbortSignal): Promise<void> {
  const v = parse(argv, {
    ...COMMON_OPTIONS,
    ...MODEL_OPTIONS,
    ...CORPUS_OPTIONS,
    factors: { type: 'string' },
    out: { type: 'string' },
    dim: { type: 'string' },
    damping: { type: 'string' },
    'max-len': { type: 'string' },
    shard: { type: 'string' },
  });
  const out = str(v, 'out');
  const dim = optStr(v, 'dim');
  if (dim !== undefined) keptEntries(dim, 1); // a bad --dim is refused before any work
  prepareOutput(out, 'index', [str(v, 'factors'), str(v, 'model'), str(v, 'corpus')]);
  const request = {
    corpus: corpusOptions(v),
    out,
    dim,
    damping: num(v, 'damping'),
    shard: parseShard(optStr(v, 'shard')),
    batchSize: int(v, 'batch-size'),
  };
  await withFactors(v, signal, async ({ run, factors, hooks }) => {
    const manifest = await runIndexBuild(run, factors, request, hooks);
    hooks.log(`index: ${out} (${manifest.documents} documents, ${manifest.entries} entries and ${bytesPerRow(manifest)} bytes per document)`);
  });
}
