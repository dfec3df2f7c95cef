/**
 * Hover latency as the user sees it: request to response through LSP, against the built language server
 * (dist/server.js over stdio) on the demo model and demo corpus with its index, as the editor's demo sets
 * it up (factors fitted on the first 1,000 documents, index over all 4,000). Figures: the first hover
 * after the server starts (caches on disk), p50/p95 over 200 different prompts without a completion
 * (greedy generation included) and with one, and RSS after 1,000 hovers.
 *
 *   npm run bench:hover            (also part of npm run bench)
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../demo/src/corpus/generate';
import { CONFIGURATION_SECTION, InfluenceHoverRequest, MemoryRequest, SERVER_COMMANDS, StatusNotification, type StatusParams } from '../server/src/protocol';
import { bottomK, topK } from '../server/src/engine/util/topK';
import { openFactorSet } from '../server/src/engine/runs/factors';
import { DEFAULT_CANDIDATE_TOTAL } from '../server/src/engine/runs/candidates';
import { DEFAULT_RERANK } from '../server/src/engine/runs/influence';
import { ModelRun } from '../server/src/engine/runs/modelRun';
import { prepareQueries } from '../server/src/engine/runs/queries';
import { scoreCorpus } from '../server/src/engine/score/score';
import { startedAs } from './entry';

const ROOT = resolve(__dirname, '..');
/** Documents per side scored exactly beyond those shown: the extension's default (IL_HOVER_RERANK to measure others). */
const RERANK = Number(process.env.IL_HOVER_RERANK ?? DEFAULT_RERANK);
/** Candidates rescored from the rescoring tier: the default (IL_HOVER_CANDIDATES to measure others). */
const CANDIDATES = Number(process.env.IL_HOVER_CANDIDATES ?? DEFAULT_CANDIDATE_TOTAL);
/**
 * Factors and index built already for the demo corpus (IL_HOVER_REUSE=demo/out: its factors/ and index/),
 * instead of fitting and indexing through the server: for measuring other hover settings quickly.
 */
const REUSE = process.env.IL_HOVER_REUSE;
/** IL_HOVER_FIRST_ONLY=1: stop after the first two hovers of a fresh server (their phases are printed), for work on cold costs. */
const FIRST_ONLY = process.env.IL_HOVER_FIRST_ONLY === '1';
const phaseLine = (t: Record<string, number>) =>
  Object.entries(t)
    .map(([k, v]) => `${k.replace(/Ms$/, '')} ${v.toFixed(0)}`)
    .join(', ');
/** Prompts drawn from the corpus besides the demo queries (IL_HOVER_OPENINGS). */
const OPENINGS = Number(process.env.IL_HOVER_OPENINGS ?? 100);
/** Hovers in the memory check (IL_HOVER_REPEATS lowers it for a quick latency run). */
const REPEATS = Number(process.env.IL_HOVER_REPEATS ?? 1000);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

interface Lsp {
  connection: MessageConnection;
  statuses: StatusParams[];
  waitFor(ok: (s: StatusParams) => boolean): Promise<StatusParams>;
  stop(): Promise<void>;
  startedAt: number;
}

async function startServer(settings: Record<string, unknown>, storageDir: string, workspace: string): Promise<Lsp> {
  const startedAt = performance.now();
  const child = spawn(process.execPath, [join(ROOT, 'dist', 'server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const statuses: StatusParams[] = [];
  const waiters: { ok: (s: StatusParams) => boolean; resolve: (s: StatusParams) => void }[] = [];
  connection.onNotification(StatusNotification.type, (s) => {
    statuses.push(s);
    for (const w of [...waiters]) {
      if (!w.ok(s)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(s);
    }
  });
  connection.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) =>
    p.items.map((i) => (i.section === CONFIGURATION_SECTION ? settings : null)),
  );
  connection.onRequest('window/workDoneProgress/create', () => null);
  connection.onNotification('$/progress', () => undefined);
  connection.onNotification('window/logMessage', () => undefined);
  connection.onNotification('window/showMessage', (m: { message: string }) => process.stderr.write(`bench: server says: ${m.message}\n`));
  connection.onNotification('textDocument/publishDiagnostics', () => undefined);
  connection.listen();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: pathToFileURL(workspace).href,
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'bench' }],
    initializationOptions: { storageDir, extensionDir: ROOT, trusted: true },
    capabilities: { workspace: { configuration: true }, window: { workDoneProgress: true } },
  });
  await connection.sendNotification('initialized', {});
  return {
    connection,
    statuses,
    startedAt,
    waitFor: (ok) => {
      const found = statuses.find(ok);
      return found ? Promise.resolve(found) : new Promise((r) => waiters.push({ ok, resolve: r }));
    },
    stop: async () => {
      await connection.sendRequest('shutdown');
      await connection.sendNotification('exit');
      await new Promise((r) => child.once('exit', r));
      connection.dispose();
    },
  };
}

/**
 * The demo queries, then `OPENINGS` prompts drawn from the corpus (every 37th document's first words, at
 * most 8: never tuned on), each a prompt the model completes.
 */
export function prompts(corpus: string): string[] {
  const queries = readFileSync(join(ROOT, 'demo', 'queries.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { prompt: string }).prompt);
  const docs = readFileSync(corpus, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const openings = docs
    .filter((_, i) => i % 37 === 5)
    .map((t) => t.split(/\s+/).slice(0, 8).join(' '))
    .filter((t) => t.length > 20);
  return [...new Set(queries), ...new Set(openings.slice(0, OPENINGS))];
}

class NoAnswer extends Error {}

interface Shown {
  /** One of the demo queries (else a prompt drawn from the corpus). */
  demo: boolean;
  prompt: string;
  completion: string;
  top: number[];
  bottom: number[];
  /** The hover's own (exact) totals of its top documents. */
  topScores: number[];
  /** The tokens its completion was scored as (the model's own, for a generated one). */
  completionTokens: number[];
}

/**
 * What the hovers showed against exact full-rank EK-FAC over the whole corpus, for the same prompts and
 * completions: the exact #1 shown as #1, precision of the shown top 5 and bottom 3, and whether each shown
 * score equals the exact one.
 */
async function hoverQuality(corpus: string, factorsDir: string, shown: Shown[], log: (s: string) => void) {
  const run = await ModelRun.open({ model: join(ROOT, 'demo', 'model'), backend: 'wasm' });
  try {
    const factors = await openFactorSet(run, factorsDir);
    const records = shown.map((h, i) => ({ id: `h${i}`, prompt: h.prompt, completion: h.completion, file: 'bench', line: i + 1 }));
    const { queries } = await prepareQueries(run, records, { maxLen: factors.maxLen });
    if (queries.length !== shown.length) throw new Error(`${shown.length - queries.length} hover prompts cannot be scored exactly`);
    // The tokens the hover scored: a greedy completion's own can differ from an encoding of its text.
    queries.forEach((q, i) => (q.completionTokens = shown[i].completionTokens));
    const t0 = performance.now();
    // Exact scores are kept by the prompts and completions they are for (IL_HOVER_EXACT_CACHE names the folder).
    const key = createHash('sha256')
      .update(JSON.stringify([factorsDir, corpus, shown.map((h) => [h.prompt, h.completionTokens])]))
      .digest('hex')
      .slice(0, 16);
    const cached = process.env.IL_HOVER_EXACT_CACHE && join(process.env.IL_HOVER_EXACT_CACHE, `exact-${key}.json`);
    const exact: { documents: { index: number }[]; scores: Float32Array } =
      cached && existsSync(cached)
        ? ((c) => ({ documents: c.documents, scores: Float32Array.from(c.scores) }))(
            JSON.parse(readFileSync(cached, 'utf8')) as { documents: { index: number }[]; scores: number[] },
          )
        : await scoreCorpus({
            pool: run.pool,
            tokenizer: run.tokenizer,
            bos: run.bos,
            corpus: { path: corpus },
            factors: factors.factors,
            queries,
            maxLen: factors.maxLen,
            selfInfluence: false,
          });
    if (cached && !existsSync(cached))
      writeFileSync(cached, JSON.stringify({ documents: exact.documents.map((d) => ({ index: d.index })), scores: Array.from(exact.scores) }));
    log(`exact scores for ${queries.length} hovers × ${exact.documents.length} documents in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    const D = exact.documents.length;
    const ids = exact.documents.map((d) => d.index);
    const per = shown.map((h, q) => {
      const row = exact.scores.subarray(q * D, (q + 1) * D);
      const top = topK(row, h.top.length).map((j) => ids[j]);
      const bottom = bottomK(row, h.bottom.length).map((j) => ids[j]);
      const hit = (a: number[], b: number[]) => (a.length === 0 ? 1 : a.filter((x) => b.includes(x)).length / a.length);
      const exactOf = (index: number) => row[ids.indexOf(index)];
      // A shown #1 whose exact score equals the exact maximum (to float32 rounding) is the exact #1: the demo
      // corpus repeats some documents word for word, and which of two equal documents comes first is arbitrary.
      const tied = h.top.length > 0 && exactOf(h.top[0]) >= exactOf(top[0]) - 1e-6 * Math.abs(exactOf(top[0]));
      const firstIsFirst = h.top[0] === top[0] || tied;
      // Where the exact #1 is not shown first: the exact scores of it and of what was, and the hover's own.
      const miss = firstIsFirst
        ? undefined
        : {
            prompt: h.prompt,
            completion: h.completion,
            exactFirst: { index: top[0], score: exactOf(top[0]), shownAs: h.topScores[h.top.indexOf(top[0])] },
            shownFirst: { index: h.top[0], exactScore: exactOf(h.top[0]), shownAs: h.topScores[0] },
          };
      return {
        firstIsFirst,
        tied: tied && h.top[0] !== top[0],
        firstShown: h.top.includes(top[0]) || tied,
        top: hit(h.top, top),
        bottom: hit(h.bottom, bottom),
        miss,
      };
    });
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
    const part = (which: (h: Shown) => boolean) => {
      const p = per.filter((_, q) => which(shown[q]));
      return {
        queries: p.length,
        exactFirstShownFirst: p.filter((x) => x.firstIsFirst).length,
        exactFirstShown: p.filter((x) => x.firstShown).length,
        /** Of exactFirstShownFirst, those where a document with the same exact score (a duplicate) came first. */
        exactFirstTied: p.filter((x) => x.tied).length,
        precisionTop5: +mean(p.map((x) => x.top)).toFixed(3),
        allFiveRight: p.filter((x) => x.top === 1).length,
        precisionBottom3: +mean(p.map((x) => x.bottom)).toFixed(3),
      };
    };
    return { part, per };
  } finally {
    await run.dispose();
  }
}

export async function benchHover(log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-hover-'));
  try {
    const corpus = REUSE ? join(ROOT, 'demo', 'data', 'corpus.jsonl') : join(dir, 'corpus.jsonl');
    if (!REUSE) writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
    const settings = {
      backend: 'wasm',
      model: join(ROOT, 'demo', 'model'),
      corpus,
      factors: REUSE ? resolve(REUSE, 'factors') : join(dir, 'factors'),
      index: REUSE ? resolve(REUSE, 'index') : join(dir, 'index'),
      fitMaxDocuments: 1000,
      maxLength: 256,
      hover: { top: 5, bottom: 3, rerank: RERANK, candidates: CANDIDATES },
    };
    const storage = join(dir, 'storage');
    // Set-up: fit and index through the server's own jobs (their times are reported too).
    let fitSeconds = 0;
    let indexSeconds = 0;
    if (!REUSE) {
      const setup = await startServer(settings, storage, dir);
      await setup.waitFor((s) => s.state === 'ready' && s.model !== undefined);
      const t0 = performance.now();
      await setup.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] });
      fitSeconds = (performance.now() - t0) / 1000;
      const t1 = performance.now();
      await setup.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.buildIndex, arguments: [] });
      indexSeconds = (performance.now() - t1) / 1000;
      log(`hover set-up: fit (1,000 documents) ${fitSeconds.toFixed(0)} s, index (4,000 documents) ${indexSeconds.toFixed(0)} s`);
      await setup.stop();
    }

    // A fresh server with everything on disk: the first hover as a user meets it.
    const lsp = await startServer(settings, storage, dir);
    const uri = pathToFileURL(join(dir, 'prompt.txt')).href;
    let version = 0;
    const hover = async (text: string) => {
      await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: ++version, text } });
      const lines = text.split('\n');
      const range = { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: lines[lines.length - 1].length } };
      const h0 = performance.now();
      const r = await lsp.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri }, range });
      if (!r?.answer) throw new NoAnswer(r?.markdown ?? '(no hover)');
      return { ms: performance.now() - h0, answer: r.answer };
    };
    await lsp.waitFor((s) => s.state === 'ready' && s.index?.state === 'ready');
    const ready = (performance.now() - lsp.startedAt) / 1000;
    const first = await hover('Q: What is the capital of Japan?\nA:');
    const firstHoverSeconds = (performance.now() - lsp.startedAt) / 1000;
    log(`first hover: ${firstHoverSeconds.toFixed(2)} s after the server started (ready at ${ready.toFixed(2)} s; the hover itself ${first.ms.toFixed(0)} ms)`);
    log(`first hover's phases (ms): ${phaseLine(first.answer.timings)}`);
    const second = await hover('Q: What is the capital of France?\nA:');
    log(`second hover: ${second.ms.toFixed(0)} ms; phases (ms): ${phaseLine(second.answer.timings)}`);
    if (FIRST_ONLY) {
      await lsp.stop();
      return { firstHoverSeconds, serverReadySeconds: ready, firstHoverMs: first.ms, firstPhasesMs: first.answer.timings, secondHoverMs: second.ms };
    }

    const ps = prompts(corpus);
    const demoQueries = ps.length - Math.min(OPENINGS, ps.length);
    const generated: number[] = [];
    const phases = (['prepareMs', 'searchMs', 'rescoreMs', 'rerankMs'] as const).map((k) => ({ k, generated: [] as number[], given: [] as number[] }));
    let newTokens = 0;
    const shown: Shown[] = [];
    const candidates: number[] = [];
    // A prompt the model answers with an empty first line gets a hover that asks for a completion: counted, not measured.
    const unanswered: string[] = [];
    for (const [i, p] of ps.entries()) {
      const h = await hover(p).catch((e: unknown) => {
        if (!(e instanceof NoAnswer)) throw e;
        unanswered.push(p);
        return undefined;
      });
      if (!h) continue;
      generated.push(h.ms);
      phases.forEach((f) => f.generated.push(h.answer.timings[f.k]));
      newTokens += h.answer.generated ? 1 : 0;
      shown.push({
        prompt: p,
        completion: h.answer.completion,
        top: h.answer.top.map((d) => d.index),
        bottom: h.answer.bottom.map((d) => d.index),
        topScores: h.answer.top.map((d) => d.perNat * h.answer.nllNats),
        completionTokens: h.answer.completionTokens,
        demo: i < demoQueries,
      });
      if (h.answer.candidates) candidates.push(h.answer.candidates.union);
    }
    const given: number[] = [];
    for (const p of ps) {
      const h = await hover(`${p}\n---\n The answer.`);
      given.push(h.ms);
      phases.forEach((f) => f.given.push(h.answer.timings[f.k]));
    }
    const mem0 = await lsp.connection.sendRequest(MemoryRequest.type);
    for (let i = 0; i < REPEATS; i++) await hover(`${ps[i % ps.length]}\n---\n ok`);
    const mem1 = await lsp.connection.sendRequest(MemoryRequest.type);
    await lsp.stop();
    const quality = await hoverQuality(corpus, settings.factors, shown, log);
    const figure = (xs: number[]) => ({ p50: +percentile(xs, 50).toFixed(1), p95: +percentile(xs, 95).toFixed(1), max: +Math.max(...xs).toFixed(1) });
    const phasesMs = Object.fromEntries(phases.map((f) => [f.k, { withoutCompletion: figure(f.generated), withCompletion: figure(f.given) }]));
    const out = {
      setup: { fitSeconds, indexSeconds, fitDocuments: 1000, documents: DEFAULT_SIZE },
      firstHoverSeconds,
      serverReadySeconds: ready,
      withoutCompletionMs: figure(generated),
      withCompletionMs: figure(given),
      // In the server: the prompt (greedy completion), the query gradient and the index scan, the exact rescoring.
      phasesMs,
      // Against exact full-rank EK-FAC over every document, the hovers' own completions (without a given one).
      quality: {
        demoQueries: quality.part((h) => h.demo),
        corpusPrompts: quality.part((h) => !h.demo),
        all: quality.part(() => true),
        unanswered: unanswered.length,
        exactFirstMissed: quality.per.flatMap((x) => (x.miss ? [x.miss] : [])),
      },
      rerank: RERANK,
      candidates: { setting: CANDIDATES, unionP50: candidates.length ? percentile(candidates, 50) : 0 },
      prompts: ps.length,
      generatedAnswers: newTokens,
      repeats: REPEATS,
      rssMiB: { before1000: +(mem0.rssBytes / 2 ** 20).toFixed(0), after1000: +(mem1.rssBytes / 2 ** 20).toFixed(0) },
      tensorsFlat: JSON.stringify(mem0.tensors) === JSON.stringify(mem1.tensors),
    };
    const q = out.quality.all;
    log(
      `hover quality vs exact (${q.queries} prompts): exact #1 shown as #1 ${q.exactFirstShownFirst}/${q.queries}, shown ${q.exactFirstShown}; precision@5 ${q.precisionTop5}, all five right ${q.allFiveRight}; most harmful 3 ${q.precisionBottom3}`,
    );
    log(
      `hover latency (LSP, demo, index + rescoring tier): without completion p50 ${out.withoutCompletionMs.p50} / p95 ${out.withoutCompletionMs.p95} ms; with completion p50 ${out.withCompletionMs.p50} / p95 ${out.withCompletionMs.p95} ms; RSS ${out.rssMiB.before1000} → ${out.rssMiB.after1000} MiB over ${REPEATS.toLocaleString('en-US')} hovers (rerank ${RERANK}, candidates ${CANDIDATES}; p50 prepare / search / rescore / exact with completion: ${phases.map((f) => phasesMs[f.k].withCompletion.p50).join(' / ')} ms)`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (startedAs('hover')) {
  benchHover((s) => process.stderr.write(`bench: ${s}\n`)).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`bench:hover failed: ${e instanceof Error ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
