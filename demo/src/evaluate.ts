/**
 * `npm run demo:evaluate`: the demo model's greedy completions of the demo queries, scored against their
 * answers (demo/model/eval.json), and its held-out loss recomputed through the normal loader.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openComputePool, type ComputePool } from '../../server/src/engine/compute/computePool';
import { heldOutLoss, packRows } from '../../server/src/engine/train/train';
import { openModel, bosId, stopIds } from '../../server/src/engine/model/openModel';
import { readQueries } from '../../server/src/engine/queries/read';
import { writeTextAtomically } from '../../server/src/engine/util/atomic';
import { demoSequences } from './train';

const ROOT = resolve(__dirname, '..', '..');
export const DEMO_MODEL = join(ROOT, 'demo', 'model');

/** Whether the completion gives the answer: the text up to "The answer is N" or the first line for facts. */
export function completionCorrect(kind: string | undefined, completion: string, answer: string): boolean {
  const escape = answer.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  if (kind === 'reasoning') {
    const m = /The answer is\s*(-?[\d.]+)/.exec(completion);
    return m !== null && Number(m[1]) === Number(answer);
  }
  const firstLine = completion.split('\n').find((l) => l.trim() !== '') ?? '';
  return new RegExp(`(^|[^\\p{L}\\p{N}])${escape}($|[^\\p{L}\\p{N}])`, 'iu').test(firstLine);
}

/** The held-out documents' mean next-token loss through the normal loader and forward pass. */
export async function demoHeldOutLoss(pool: ComputePool, modelPath = DEMO_MODEL, corpus = join(ROOT, 'demo', 'data', 'corpus.jsonl')): Promise<number> {
  const m = await openModel(modelPath);
  const { heldOut } = demoSequences(corpus, m.tokenizer);
  const training = JSON.parse(readFileSync(join(modelPath, 'training.json'), 'utf8')) as { rowLength: number };
  await pool.broadcast({
    kind: 'setParams',
    params: [...m.checkpoint.weights].filter(([n]) => n !== 'lm_head').map(([name, t]) => ({ name, shape: t.shape, data: t.data })),
    tied: m.checkpoint.weights.get('lm_head')?.data === m.checkpoint.weights.get('embed')?.data,
  });
  return heldOutLoss(pool, packRows(heldOut, training.rowLength), 2);
}

async function main() {
  const at = process.argv.indexOf('--model');
  const modelDir = at > 0 ? resolve(process.argv[at + 1]) : DEMO_MODEL;
  const m = await openModel(modelDir);
  const queries = await readQueries(join(ROOT, 'demo', 'queries.jsonl'));
  const pool = await openComputePool(m.checkpoint, {});
  try {
    const results = await Promise.all(
      queries.map(async (q) => {
        const prompt = [bosId(m), ...m.tokenizer.encode(q.prompt)];
        const out = await pool.run({ kind: 'generate', prompt, maxNewTokens: q.kind === 'reasoning' ? 96 : 24, stopIds: stopIds(m) });
        const completion = m.tokenizer.decode(out, prompt[prompt.length - 1]);
        return {
          id: q.id,
          kind: q.kind,
          task: q.task,
          answer: q.answer,
          completion,
          correct: q.answer !== undefined && completionCorrect(q.kind, completion, q.answer),
        };
      }),
    );
    const groups = new Map<string, { n: number; correct: number }>();
    for (const r of results) {
      for (const key of [r.kind ?? '-', `${r.kind}/${r.task}`]) {
        const g = groups.get(key) ?? { n: 0, correct: 0 };
        g.n++;
        if (r.correct) g.correct++;
        groups.set(key, g);
      }
    }
    const loss = await demoHeldOutLoss(pool, modelDir);
    const accuracy = Object.fromEntries([...groups].map(([k, g]) => [k, { ...g, accuracy: g.correct / g.n }]));
    writeTextAtomically(join(modelDir, 'eval.json'), JSON.stringify({ heldOutLoss: loss, accuracy, results }, null, 1) + '\n');
    for (const [k, g] of groups) process.stdout.write(`${k.padEnd(24)} ${g.correct}/${g.n}\n`);
    process.stdout.write(`held-out loss ${loss.toFixed(4)} nats/token\n`);
  } finally {
    await pool.dispose();
  }
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`demo:evaluate failed: ${e instanceof Error ? e.stack : e}\n`);
    process.exit(1);
  });
}
