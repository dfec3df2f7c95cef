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
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { corpusJsonl, generateCorpus, DEFAULT_SEED, DEFAULT_SIZE } from '../demo/src/corpus/generate';
import {
  CONFIGURATION_SECTION,
  InfluenceHoverRequest,
  MemoryRequest,
  SERVER_COMMANDS,
  StatusNotification,
  type StatusParams,
} from '../server/src/protocol';

const ROOT = resolve(__dirname, '..');
/** Candidates rescored exactly per side: the extension's default (IL_HOVER_RERANK to measure others). */
const RERANK = Number(process.env.IL_HOVER_RERANK ?? 20);
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
  connection.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => p.items.map((i) => (i.section === CONFIGURATION_SECTION ? settings : null)));
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

/** 200 prompts: the demo queries, then openings of corpus documents the queries do not cover. */
function prompts(corpus: string): string[] {
  const queries = readFileSync(join(ROOT, 'demo', 'queries.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { prompt: string }).prompt);
  const docs = readFileSync(corpus, 'utf8').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { text: string }).text);
  const openings = docs.map((t) => t.split(/\s+/).slice(0, 8).join(' ')).filter((t) => t.length > 20);
  return [...new Set([...queries, ...openings])].slice(0, 200);
}

export async function benchHover(log: (s: string) => void) {
  const dir = mkdtempSync(join(tmpdir(), 'il-bench-hover-'));
  try {
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE })));
    const settings = {
      backend: 'wasm',
      model: join(ROOT, 'demo', 'model'),
      corpus,
      factors: join(dir, 'factors'),
      index: join(dir, 'index'),
      fitMaxDocuments: 1000,
      maxLength: 256,
      hover: { top: 5, bottom: 3, rerank: RERANK },
    };
    const storage = join(dir, 'storage');
    // Set-up: fit and index through the server's own jobs (their times are reported too).
    let lsp = await startServer(settings, storage, dir);
    await lsp.waitFor((s) => s.state === 'ready' && s.model !== undefined);
    const t0 = performance.now();
    await lsp.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] });
    const fitSeconds = (performance.now() - t0) / 1000;
    const t1 = performance.now();
    await lsp.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.buildIndex, arguments: [] });
    const indexSeconds = (performance.now() - t1) / 1000;
    log(`hover set-up: fit (1,000 documents) ${fitSeconds.toFixed(0)} s, index (4,000 documents) ${indexSeconds.toFixed(0)} s`);
    await lsp.stop();

    // A fresh server with everything on disk: the first hover as a user meets it.
    lsp = await startServer(settings, storage, dir);
    const uri = pathToFileURL(join(dir, 'prompt.txt')).href;
    let version = 0;
    const hover = async (text: string) => {
      await lsp.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version: ++version, text } });
      const lines = text.split('\n');
      const range = { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: lines[lines.length - 1].length } };
      const h0 = performance.now();
      const r = await lsp.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri }, range });
      if (!r?.answer) throw new Error(`no answer: ${r?.markdown}`);
      return { ms: performance.now() - h0, answer: r.answer };
    };
    await lsp.waitFor((s) => s.state === 'ready' && s.index?.state === 'ready');
    const ready = (performance.now() - lsp.startedAt) / 1000;
    const first = await hover('Q: What is the capital of Japan?\nA:');
    const firstHoverSeconds = (performance.now() - lsp.startedAt) / 1000;
    log(`first hover: ${firstHoverSeconds.toFixed(2)} s after the server started (ready at ${ready.toFixed(2)} s; the hover itself ${first.ms.toFixed(0)} ms)`);

    const ps = prompts(corpus);
    const generated: number[] = [];
    const phases = (['prepareMs', 'searchMs', 'rerankMs'] as const).map((k) => ({ k, generated: [] as number[], given: [] as number[] }));
    let newTokens = 0;
    for (const p of ps) {
      const h = await hover(p);
      generated.push(h.ms);
      phases.forEach((f) => f.generated.push(h.answer.timings[f.k]));
      newTokens += h.answer.generated ? 1 : 0;
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
      rerank: RERANK,
      prompts: ps.length,
      generatedAnswers: newTokens,
      repeats: REPEATS,
      rssMiB: { before1000: +(mem0.rssBytes / 2 ** 20).toFixed(0), after1000: +(mem1.rssBytes / 2 ** 20).toFixed(0) },
      tensorsFlat: JSON.stringify(mem0.tensors) === JSON.stringify(mem1.tensors),
    };
    log(
      `hover latency (LSP, demo, index + rerank): without completion p50 ${out.withoutCompletionMs.p50} / p95 ${out.withoutCompletionMs.p95} ms; with completion p50 ${out.withCompletionMs.p50} / p95 ${out.withCompletionMs.p95} ms; RSS ${out.rssMiB.before1000} → ${out.rssMiB.after1000} MiB over ${REPEATS.toLocaleString('en-US')} hovers (rerank ${RERANK}; p50 prepare / search / rerank with completion: ${phases.map((f) => phasesMs[f.k].withCompletion.p50).join(' / ')} ms)`,
    );
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module && /hover\.[cm]?[tj]s$/.test(process.argv[1] ?? '')) {
  benchHover((s) => process.stderr.write(`bench: ${s}\n`)).then(
    (r) => process.stdout.write(JSON.stringify(r, null, 2) + '\n'),
    (e) => {
      process.stderr.write(`bench:hover failed: ${e instanceof Error ? e.stack : e}\n`);
      process.exit(1);
    },
  );
}
