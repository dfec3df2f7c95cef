/**
 * BM25 candidates at scale: a synthetic corpus of D documents (the demo corpus's 4,000 texts repeated, each
 * copy with its own number word, so terms' document frequencies scale as in the demo), its lexical.bin
 * written as an index build writes it, and the search the hover runs (the demo queries' prompts and
 * answers, BM25's best 800) timed, wall and CPU. Part of `npm run bench:scan` (the million-document index).
 */
import { createWriteStream, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { corpusJsonl, DEFAULT_SEED, DEFAULT_SIZE, generateCorpus } from '../demo/src/corpus/generate';
import { LexicalIndex, type LexicalSearch } from '../server/src/engine/gradindex/lexical';
import { writeLexicalIndex } from '../server/src/engine/gradindex/lexicalBuild';
import { DEFAULT_CANDIDATES } from '../server/src/engine/runs/candidates';
import { startedAs } from './entry';

const ROOT = resolve(__dirname, '..');

/** The hover's BM25 texts: each demo query's prompt and answer. */
export function lexicalQueries(): string[] {
  return readFileSync(join(ROOT, 'demo', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { prompt: string; answer?: string })
    .map((q) => `${q.prompt} ${q.answer ?? ''}`);
}

/** Writes the synthetic corpus and its BM25 index in `dir`; answers the open index and the build's seconds. */
export async function syntheticLexical(dir: string, D: number): Promise<{ lexical: LexicalSearch; buildSeconds: number; bytes: number }> {
  const texts = corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }))
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { text: string }).text);
  const corpus = join(dir, 'synthetic.jsonl');
  const out = createWriteStream(corpus);
  for (let d = 0; d < D; d++) {
    if (!out.write(`${JSON.stringify({ id: `s${d}`, text: `${texts[d % texts.length]} copy${Math.floor(d / texts.length)}` })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const t0 = performance.now();
  const documents = Array.from({ length: D }, (_, i) => ({ index: i, id: `s${i}`, source: 'synthetic', tokens: 100, file: corpus }));
  const file = await writeLexicalIndex(dir, { path: corpus }, documents);
  const buildSeconds = (performance.now() - t0) / 1000;
  rmSync(corpus);
  return { lexical: LexicalIndex.load(dir, file), buildSeconds, bytes: statSync(join(dir, file.file)).size };
}

/** BM25's best for each demo query over a lexical index: wall and CPU milliseconds per search. */
export function timeLexical(lexical: LexicalSearch): { wallMs: number[]; cpuMs: number[]; hits: number } {
  const wallMs: number[] = [];
  const cpuMs: number[] = [];
  let hits = 0;
  for (const q of lexicalQueries()) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    hits += lexical.search(q, DEFAULT_CANDIDATES.lexical).length;
    const c = process.cpuUsage(c0);
    cpuMs.push((c.user + c.system) / 1000);
    wallMs.push(performance.now() - t0);
  }
  return { wallMs, cpuMs, hits };
}

/** `npm run bench:lexical -- [D]`: the synthetic BM25 index alone (D documents, default 1,000,000). */
async function main() {
  const D = Number(process.argv[2] ?? 1_000_000);
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-lexical-'));
  try {
    const { lexical, buildSeconds, bytes } = await syntheticLexical(dir, D);
    const t = timeLexical(lexical);
    lexical.close();
    const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((q / 100) * xs.length))];
    process.stdout.write(
      JSON.stringify(
        { documents: D, buildSeconds, bytes, searchMs: { p50: p(t.wallMs, 50), p95: p(t.wallMs, 95) }, cpuMs: { p50: p(t.cpuMs, 50), p95: p(t.cpuMs, 95) } },
        null,
        2,
      ) + '\n',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (startedAs('lexical')) main();
