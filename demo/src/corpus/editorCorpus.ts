/**
 * The editor's demo corpus, as a program of its own (dist/demoCorpus.js): the language server runs it
 * when Open Demo needs a corpus it has not written yet, so the generator stays out of the server bundle.
 *
 *   node dist/demoCorpus.js --out FILE --documents N
 *
 * Writes the first N documents of the corpus the demo model was trained on (sources are interleaved
 * throughout), atomically; deterministic, a few seconds.
 */
import { resolve } from 'node:path';
import { writeTextAtomically } from '../../../server/src/engine/util/atomic';
import { DEFAULT_SEED, DEFAULT_SIZE, corpusJsonl, generateCorpus } from './generate';

export function writeEditorCorpus(out: string, documents: number): void {
  writeTextAtomically(out, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: Math.max(documents, DEFAULT_SIZE) }).slice(0, documents)));
}

function main(args: string[]): void {
  const value = (flag: string) => {
    const at = args.indexOf(flag);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const out = value('--out');
  const documents = Number(value('--documents'));
  if (!out || !Number.isSafeInteger(documents) || documents < 1) throw new Error('usage: demoCorpus --out FILE --documents N');
  writeEditorCorpus(resolve(out), documents);
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  }
}
