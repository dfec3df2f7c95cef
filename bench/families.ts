/**
 * Forward + backward capture throughput per model family, so a user can predict a run on their own
 * model: ~10M-parameter random checkpoints of llama, gpt_neox and qwen2 written in their exact Hugging Face
 * layout (the writers the family tests use) and loaded as a user's folder is. Random weights cost what
 * trained ones do. `npm run bench:families -- [--backend B] [--workers N] [--sequences N] [--seq-len L]`
 * runs this stage alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseBackendRequest, type BackendRequest } from '../server/src/engine/device/backend';
import { loadCheckpoint } from '../server/src/engine/model/load';
import { FAMILY_CONFIGS, randomHfTensors, writeHfCheckpoint } from '../test/helpers/hfCheckpoint';
import { benchCaptures, type CaptureFigure } from './captures';
import { startedAs } from './entry';

/** Shapes of about 10M parameters each (a quarter of them in the untied embeddings, as in small real models). */
const SIZE = { vocab_size: 8192, hidden_size: 256, num_hidden_layers: 8, num_attention_heads: 8, max_position_embeddings: 512, tie_word_embeddings: false };
const FAMILIES: Record<string, Record<string, unknown>> = {
  llama: { ...FAMILY_CONFIGS.llama, ...SIZE, intermediate_size: 768, num_key_value_heads: 4 },
  gpt_neox: { ...FAMILY_CONFIGS.gpt_neox, ...SIZE, intermediate_size: 1024 },
  qwen2: { ...FAMILY_CONFIGS.qwen2, ...SIZE, intermediate_size: 768, num_key_value_heads: 4 },
};

/** A few seconds per family on two wasm threads: 1,024 timed tokens, after a warm-up of one batch per thread. */
export const FAMILY_DEFAULTS = { sequences: 8, seqLen: 128, batchSize: 2 };

export interface FamilyFigure extends CaptureFigure {
  modelType: string;
  parameters: number;
  layers: number;
  dim: number;
  seqLen: number;
}

/** `sequences` random sequences of `seqLen` tokens per family (after a warm-up batch per thread). */
export async function benchFamilies(
  o: { backend: BackendRequest; workers: number; sequences: number; seqLen: number; batchSize: number },
  log: (s: string) => void,
): Promise<FamilyFigure[]> {
  const figures: FamilyFigure[] = [];
  for (const [family, config] of Object.entries(FAMILIES)) {
    const dir = mkdtempSync(join(tmpdir(), `il-bench-${family}-`));
    try {
      writeHfCheckpoint(dir, config, randomHfTensors(config, 1));
      const checkpoint = loadCheckpoint(dir);
      const c = checkpoint.config;
      let parameters = 0;
      for (const t of new Set([...checkpoint.weights.values()].map((w) => w.data))) parameters += t.length;
      // Token ids spread over the vocabulary (their values do not change the cost).
      const sequences = Array.from({ length: o.sequences }, (_, i) =>
        Array.from({ length: o.seqLen }, (_, j) => 3 + ((i * 7919 + j * 104729) % (c.vocabSize - 3))),
      );
      log(`family ${family}: ${(parameters / 1e6).toFixed(1)}M parameters, ${c.nLayers} layers × ${c.dim}`);
      const figure = await benchCaptures({ checkpoint }, sequences, o.backend, o.workers, o.batchSize, (s) => log(`family ${family}: ${s}`));
      figures.push({ ...figure, modelType: String(config.model_type), parameters, layers: c.nLayers, dim: c.dim, seqLen: o.seqLen });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return figures;
}

if (startedAs('families')) {
  const { values } = parseArgs({
    options: {
      backend: { type: 'string', default: 'wasm' },
      workers: { type: 'string', default: '2' },
      sequences: { type: 'string', default: String(FAMILY_DEFAULTS.sequences) },
      'seq-len': { type: 'string', default: String(FAMILY_DEFAULTS.seqLen) },
    },
  });
  const log = (s: string) => process.stderr.write(`bench: ${s}\n`);
  benchFamilies(
    {
      backend: parseBackendRequest(values.backend),
      workers: Number(values.workers),
      sequences: Number(values.sequences),
      seqLen: Number(values['seq-len']),
      batchSize: FAMILY_DEFAULTS.batchSize,
    },
    log,
  )
    .then((families) => process.stdout.write(JSON.stringify({ families }, null, 2) + '\n'))
    .catch((e) => {
      process.stderr.write(`bench failed: ${e instanceof Error ? e.stack : e}\n`);
      process.exit(1);
    });
}
