/** `index`: the gradient index for fast queries (docs/INDEX.md). */
import { corpusFingerprint } from '../engine/corpus/fingerprint';
import { parseShard } from '../engine/corpus/sequences';
import { buildIndex, DEFAULT_INDEX_DIM, keptEntries } from '../engine/index/build';
import { bytesPerRow } from '../engine/index/store';
import { bosId } from '../engine/model/openModel';
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
  const factorsDir = str(v, 'factors');
  const out = str(v, 'out');
  const corpus = corpusOptions(v);
  const shard = parseShard(optStr(v, 'shard'));
  const dim = optStr(v, 'dim') ?? DEFAULT_INDEX_DIM;
  keptEntries(dim, 1); // a bad --dim is refused before any work
  const [damping, batchSize] = [num(v, 'damping'), int(v, 'batch-size')];
  prepareOutput(out, 'index', [factorsDir, str(v, 'model'), corpus.path]);
  await withFactors(v, signal, factorsDir, async (m) => {
    const { factors, maxLen } = m;
    const model = { fingerprint: m.modelId.fingerprint, path: m.modelId.path };
    const manifest = await buildIndex({
      pool: m.pool,
      tokenizer: m.tokenizer,
      bos: bosId(m),
      corpus,
      factors,
      model,
      corpusFingerprint: await corpusFingerprint(corpus, signal),
      out,
      dim,
      maxLen,
      damping,
      shard,
      batchSize,
      signal,
      onProgress: (p) => m.progress.update({ label: 'index', done: p.documents, tokens: p.tokens, elapsedMs: p.elapsedMs }),
    });
    m.progress.done();
    m.log(`index: ${out} (${manifest.documents} documents, ${manifest.entries} entries and ${bytesPerRow(manifest)} bytes per document)`);
  });
}
