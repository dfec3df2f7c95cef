/**
 * The editor product through the real language server over stdio, driven by a real LSP peer
 * (vscode-jsonrpc): hovers on a selection (before and after fitting, exact and from the index) that match
 * `influence-lens score`, a hostile corpus document that comes back escaped, .infq diagnostics, code
 * lenses and hovers, a batch run with work-done progress cancelled halfway and rerun, 1,000 hovers with a
 * flat tensor count, and a model file deleted while the server runs. stories260K + TinyStories.
 */
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { CancellationTokenSource } from 'vscode-jsonrpc/node';
import { topK } from '../../server/src/engine/util/topK';
import { readResults } from '../../server/src/engine/results/io';
import {
  BackendInfoRequest,
  HOVER_COMMANDS,
  InfluenceHoverRequest,
  MemoryRequest,
  SERVER_COMMANDS,
  type BatchResult,
  type InfluenceHoverResult,
} from '../../server/src/protocol';
import { runCli } from '../helpers/cli';
import { fixture, SKIP_NO_SHARED, STORIES260K, TOK512 } from '../helpers/fixtures';
import { tempDirs } from '../helpers/influence';
import { changeSettings, initialize, startServer, type Server } from '../helpers/lsp';

const { tmp, cleanup } = tempDirs('il-editor-');

/** Markup a hostile document tries to smuggle into a hover. */
const HOSTILE = [
  '[click me](command:influenceLens.fitFactors) and [x](command:workbench.action.terminal.sendSequence?%7B%22text%22%3A%22rm%22%7D)',
  '<script>alert(1)</script> <img src=x onerror=alert(1)> <a href="javascript:alert(1)">j</a>',
  '\u001b]0;pwned\u0007\u001b[2J https://evil.example/x ![img](https://evil.example/i.png)',
].join(' ');

function setup() {
  const dir = tmp();
  const corpus = join(dir, 'corpus.jsonl');
  const stories = readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, 60);
  const lines = stories.map((l, i) =>
    JSON.stringify({ id: `story-${i}`, source: i % 3 === 0 ? 'web' : 'books', text: (JSON.parse(l) as { text: string }).text }),
  );
  // The hostile document: its id, source and text all carry markup; one line of over a megabyte.
  lines.push(
    JSON.stringify({
      id: '[id](command:influenceLens.openDemo)\u001b[31m',
      source: '<b>src</b>\u0007',
      text: `Once upon a time, there was a little girl named Lily. ${HOSTILE} ${'Lily played outside. '.repeat(52_000)}`,
    }),
  );
  writeFileSync(corpus, lines.join('\n') + '\n');
  const model = join(dir, 'stories260K.bin');
  copyFileSync(STORIES260K(), model);
  return {
    dir,
    corpus,
    model,
    settings: {
      backend: 'wasm',
      workers: 2,
      model,
      tokenizer: TOK512(),
      corpus,
      factors: join(dir, 'factors'),
      index: join(dir, 'index'),
      maxLength: 128,
      maxNewTokens: 16,
      exactHoverTokens: 10_000_000,
      hover: { top: 5, bottom: 3, rerank: 2, candidates: 400 },
    } as Record<string, unknown>,
  };
}

/** 1,000 (the figure); INFLUENCE_LENS_TEST_HOVERS lowers it when debugging the tests after it. */
const HOVERS = Number(process.env.INFLUENCE_LENS_TEST_HOVERS ?? 1000);

const PROMPT = 'Once upon a time, there was a little girl named';
const COMPLETION = ' Lily. She loved to play outside.';

/** Opens a text document holding `text` and hovers the whole of it as a selection. */
async function hoverText(server: Server, uri: string, text: string, version = 1): Promise<InfluenceHoverResult | null> {
  await server.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'plaintext', version, text } });
  const lines = text.split('\n');
  const range = { start: { line: 0, character: 0 }, end: { line: lines.length - 1, character: lines[lines.length - 1].length } };
  return server.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri }, range });
}

async function command<T>(server: Server, command: string, args: unknown[], token?: string, cancel?: CancellationTokenSource): Promise<T> {
  const params = { command, arguments: args, workDoneToken: token };
  return (await (cancel
    ? server.connection.sendRequest('workspace/executeCommand', params, cancel.token)
    : server.connection.sendRequest('workspace/executeCommand', params))) as T;
}

/** Every command link of a hover: only this extension's, with JSON arguments holding no text. */
function assertOnlyOwnLinks(markdown: string): void {
  const links = [...markdown.matchAll(/\]\((command:[^)\s]*)\)/g)].map((m) => m[1]);
  for (const link of links) {
    const name = link.slice('command:'.length).split('?')[0];
    assert.ok((HOVER_COMMANDS as readonly string[]).includes(name), `unexpected command link ${link}`);
  }
  // Anything that looks like a link outside our own ones (and the README's section on scores) was escaped.
  const stripped = markdown
    .replace(/\]\(command:influenceLens\.[A-Za-z]+(\?[^)\s]*)?\)/g, '')
    .replace(/\[README: What a score means\]\(file:\/\/[^)\s]*\/README\.md#L\d+\)/g, '');
  assert.ok(!/[^\\]\]\(/.test(stripped), 'an unescaped link');
}

test('the editor product over LSP: hovers, query files, batch runs, jobs, memory', { skip: SKIP_NO_SHARED, timeout: 900_000 }, async (t) => {
  const s = setup();
  const server = startServer(s.settings);
  t.after(() => {
    server.connection.dispose();
    if (server.process.exitCode === null) server.process.kill();
    cleanup();
  });
  await initialize(server, { rootUri: pathToFileURL(s.dir).href, initializationOptions: { storageDir: join(s.dir, 'storage'), trusted: true } });
  await server.statuses.next((x) => x.state === 'ready' && x.model !== undefined && x.corpus?.state === 'ready');

  await t.test('before fitting, a hover says the factors are missing and links to "Fit factors"', async () => {
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'a.txt')).href, PROMPT);
    assert.ok(r);
    assert.match(r.markdown, /not fitted/);
    assert.match(r.markdown, /\]\(command:influenceLens\.fitFactors\)/);
    assert.equal(r.answer, undefined);
  });

  await t.test('a blank selection gives no hover', async () => {
    assert.equal(await hoverText(server, pathToFileURL(join(s.dir, 'blank.txt')).href, '  \n \t'), null);
  });

  await t.test('fit factors runs as a job with work-done progress on the client token', async () => {
    const from = server.progress.length;
    const fromStatus = server.statuses.length;
    const r = await command<{ factors: string }>(server, SERVER_COMMANDS.fitFactors, [], 'fit-token');
    assert.equal(r.factors, s.settings.factors);
    const mine = server.progress
      .all()
      .slice(from)
      .filter((p) => p.token === 'fit-token');
    assert.equal(mine[0].value.kind, 'begin');
    assert.equal(mine[mine.length - 1].value.kind, 'end');
    assert.ok(
      mine.some((p) => p.value.kind === 'report' && /fit covariance/.test(p.value.message ?? '')),
      'progress names the stage',
    );
    await server.statuses.next((x) => x.factors?.state === 'ready', fromStatus);
  });

  let exactTop: number[] = [];
  await t.test('a hover on a selection (prompt --- completion) answers exactly and matches influence-lens score', async () => {
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'b.txt')).href, `${PROMPT}\n---\n${COMPLETION}`);
    assert.ok(r?.answer, r?.markdown);
    assert.equal(r.answer.method, 'exact');
    assert.equal(r.answer.completion, COMPLETION);
    assert.equal(r.answer.generated, false);
    assert.equal(r.answer.top.length, 5);
    assert.equal(r.answer.bottom.length, 3);
    const queries = join(s.dir, 'q.jsonl');
    writeFileSync(queries, JSON.stringify({ id: 'q', prompt: PROMPT, completion: COMPLETION }) + '\n');
    const out = join(s.dir, 'cli-results');
    const cli = await runCli([
      'score',
      '--model',
      s.model,
      '--tokenizer',
      TOK512(),
      '--corpus',
      s.corpus,
      '--factors',
      s.settings.factors as string,
      '--queries',
      queries,
      '--out',
      out,
      '--top',
      '0',
      '--workers',
      '2',
      '--quiet',
    ]);
    assert.equal(cli.code, 0, cli.stderr);
    const ref = readResults(out);
    const nll = ref.results.queries[0].nllNats;
    exactTop = topK(ref.scores, 5).map((j) => ref.results.documents[j].index);
    assert.deepEqual(
      r.answer.top.map((d) => d.index),
      exactTop,
      'the same top 5 as the CLI',
    );
    for (const d of r.answer.top) {
      const j = ref.results.documents.findIndex((x) => x.index === d.index);
      assert.ok(Math.abs(d.perNat - ref.scores[j] / nll) <= 1e-4 * Math.abs(ref.scores[j] / nll), `per-nat score of ${d.id}`);
      assert.ok(d.exact);
    }
    assert.match(r.markdown, /\| 1 \| [+−]\d\.\d\de[−-]?\d+ \|/, 'a ranked row with a per-nat score');
    assert.match(r.markdown, /Exact: every document scored/);
    assertOnlyOwnLinks(r.markdown);
  });

  await t.test('without a completion, the greedy completion is used and reported', async () => {
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'c.txt')).href, PROMPT);
    assert.ok(r?.answer);
    assert.equal(r.answer.generated, true);
    assert.ok(r.answer.completion.length > 0);
    assert.doesNotMatch(r.answer.completion, /\S[^]*\n/, 'the default completion ends with its first line');
    assert.match(r.markdown, /greedy completion/);
  });

  await t.test('a hostile corpus document comes back escaped (no links, HTML, control characters)', async () => {
    const changed = await changeSettings(server, { ...s.settings, hover: { top: 61, bottom: 0, rerank: 0 } });
    await server.statuses.next((x) => x.state === 'ready' && x.factors?.state === 'ready', changed);
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'd.txt')).href, `${PROMPT}\n---\n${COMPLETION}`);
    assert.ok(r?.answer);
    assert.ok(
      r.answer.top.some((d) => d.id.startsWith('[id]')),
      'the hostile document is shown',
    );
    assertOnlyOwnLinks(r.markdown);
    assert.ok(!/<script|<img|<a |<b>/i.test(r.markdown), 'no raw HTML');
    assert.ok(!r.markdown.includes('\u001b') && !r.markdown.includes('\u0007'), 'no raw control characters');
    assert.match(r.markdown, /\\u00(1b|07)/, 'control characters are shown as escapes');
    assert.ok(!/https:\/\/evil/.test(r.markdown), 'bare URLs are not left linkable');
    assert.ok(r.markdown.length < 200_000, 'the megabyte line is cut to a snippet');
    const back = await changeSettings(server, s.settings);
    await server.statuses.next((x) => x.state === 'ready' && x.factors?.state === 'ready', back);
  });

  const infq = pathToFileURL(join(s.dir, 'queries.infq')).href;
  await t.test('an .infq file gets diagnostics with exact ranges (also for a prompt longer than the maximum length)', async () => {
    const from = server.diagnostics.length;
    const text = [
      '=== ok',
      'kind: factual',
      '--- prompt',
      PROMPT,
      '--- completion',
      COMPLETION,
      '',
      '=== bad',
      'kind: opinion',
      '--- prompt',
      'x',
      '',
      '=== ok',
      '--- prompt',
      'y',
      '',
      '=== long',
      '--- prompt',
      'Once upon a time. '.repeat(60),
    ].join('\n');
    await server.connection.sendNotification('textDocument/didOpen', { textDocument: { uri: infq, languageId: 'influence-queries', version: 1, text } });
    const d = await server.diagnostics.next((x) => x.uri === infq, from);
    const got = d.diagnostics.map((x) => [x.code, x.range.start.line, x.range.start.character, x.range.end.character]);
    assert.deepEqual(got, [
      ['unknown-kind', 8, 6, 13],
      ['duplicate-id', 12, 4, 6],
      ['prompt-too-long', 18, 0, 'Once upon a time. '.repeat(60).length],
    ]);
  });

  await t.test('code lenses above each query, and a hover on a query block', async () => {
    const lenses = (await server.connection.sendRequest('textDocument/codeLens', { textDocument: { uri: infq } })) as {
      range: { start: { line: number } };
      command: { command: string };
    }[];
    assert.deepEqual(
      lenses.map((l) => [l.range.start.line, l.command.command]),
      [0, 7, 16].flatMap((line) => [
        [line, 'influenceLens.scoreQuery'],
        [line, 'influenceLens.showQueryInPanel'],
      ]),
    );
    const hover = (await server.connection.sendRequest('textDocument/hover', { textDocument: { uri: infq }, position: { line: 3, character: 2 } })) as {
      contents: { value: string };
    } | null;
    assert.ok(hover);
    assert.match(hover.contents.value, /Most helpful/);
    assert.equal(
      (await server.connection.sendRequest('textDocument/hover', { textDocument: { uri: infq }, position: { line: 6, character: 0 } })) as unknown,
      null,
      'between blocks: no hover',
    );
  });

  await t.test('a batch run reports progress, cancels halfway, then reruns to completion with the over-long query skipped', async () => {
    const batchFile = join(s.dir, 'batch.infq');
    const blocks = Array.from(
      { length: 8 },
      (_, i) =>
        `=== q${i}\nkind: ${i % 2 ? 'factual' : 'reasoning'}\nanswer: Lily\n--- prompt\nOnce upon a time, there was a girl number ${i} named\n--- completion\n Lily.`,
    );
    blocks.push(`=== too-long\n--- prompt\n${'Once upon a time. '.repeat(60)}`);
    writeFileSync(batchFile, blocks.join('\n\n') + '\n');
    const uri = pathToFileURL(batchFile).href;
    const cancel = new CancellationTokenSource();
    const from = server.progress.length;
    const reportSeen = server.progress.next((p) => p.token === 'batch-1' && p.value.kind === 'report' && /scoring corpus/.test(p.value.message ?? ''), from);
    const running = command<BatchResult>(server, SERVER_COMMANDS.runBatch, [{ uri }], 'batch-1', cancel);
    running.catch(() => undefined);
    await reportSeen;
    cancel.cancel();
    await assert.rejects(running);
    await server.progress.next((p) => p.token === 'batch-1' && p.value.kind === 'end', from);
    const idle = await server.statuses.next((x) => x.job === undefined, server.statuses.length - 1);
    assert.equal(idle.job, undefined);
    const result = await command<BatchResult>(server, SERVER_COMMANDS.runBatch, [{ uri }], 'batch-2');
    assert.equal(result.queries, 8);
    assert.equal(result.documents, 61);
    assert.deepEqual(
      result.skipped.map((x) => [x.id, x.line]),
      [['too-long', 65]],
    );
    assert.ok(existsSync(join(result.results, 'analysis.json')));
  });

  await t.test('with an index, hovers answer from it and the documents shown are the exact ones', async () => {
    const fromStatus = server.statuses.length;
    await command(server, SERVER_COMMANDS.buildIndex, [], 'index-token');
    await server.statuses.next((x) => x.index?.state === 'ready', fromStatus);
    // 400 candidates cover all 61 documents: what this checks is the path through the server —
    // candidates from the sketch and BM25, ranked by the rescoring tier, the shown ones scored exactly.
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'e.txt')).href, `${PROMPT}\n---\n${COMPLETION}`);
    assert.ok(r?.answer);
    assert.equal(r.answer.method, 'index+rescore');
    assert.equal(r.answer.candidates?.union, 61);
    assert.match(
      r.markdown,
      /From the index: 61 candidates \(\d+ from the gradient sketch, \d+ by BM25 on the prompt and completion\) ranked by its low-rank gradients; the scores shown are exact/,
    );
    assert.deepEqual(
      r.answer.top.map((d) => d.index),
      exactTop,
    );
    assert.ok(r.answer.top.every((d) => d.exact));
  });

  await t.test('1,000 hovers in a row: flat tensor counts, bounded memory', async () => {
    const changed = await changeSettings(server, { ...s.settings, hover: { top: 3, bottom: 1, rerank: 0 } });
    await server.statuses.next((x) => x.state === 'ready' && x.index?.state === 'ready', changed);
    const uri = pathToFileURL(join(s.dir, 'many.txt')).href;
    const prompts = Array.from(
      { length: 20 },
      (_, i) =>
        `${PROMPT.split(' ')
          .slice(0, 3 + (i % 7))
          .join(' ')} ${i}\n---\n${COMPLETION}`,
    );
    for (let i = 0; i < 20; i++) await hoverText(server, uri, prompts[i], i + 1); // warm-up
    const before = await server.connection.sendRequest(MemoryRequest.type);
    for (let i = 0; i < HOVERS; i++) {
      const r = await hoverText(server, uri, prompts[i % prompts.length], 100 + i);
      assert.ok(r?.answer, `hover ${i}`);
    }
    const after = await server.connection.sendRequest(MemoryRequest.type);
    assert.deepEqual(after.tensors, before.tensors, 'tensor counts per compute thread');
    const grownMiB = (after.rssBytes - before.rssBytes) / 2 ** 20;
    console.log(`# rss ${(before.rssBytes / 2 ** 20).toFixed(0)} → ${(after.rssBytes / 2 ** 20).toFixed(0)} MiB over 1,000 hovers`);
    assert.ok(grownMiB < 150, `RSS grew by ${grownMiB.toFixed(0)} MiB`);
  });

  await t.test('the model file deleted while the server runs: a clear status naming it, and the server answers', async () => {
    const from = server.statuses.length;
    rmSync(s.model);
    const error = await server.statuses.next((x) => x.state === 'error', from);
    assert.ok(error.message.includes(s.model), error.message);
    const info = await server.connection.sendRequest(BackendInfoRequest.type);
    assert.equal(info.state, 'error');
    const r = await hoverText(server, pathToFileURL(join(s.dir, 'f.txt')).href, PROMPT);
    assert.ok(r && /no influence yet/.test(r.markdown), r?.markdown);
    // Put back, the model loads again.
    mkdirSync(s.dir, { recursive: true });
    copyFileSync(STORIES260K(), s.model);
    await server.statuses.next((x) => x.state === 'ready' && x.index?.state === 'ready', from);
  });

  await t.test('shuts down cleanly', async () => {
    await server.connection.sendRequest('shutdown');
    await server.connection.sendNotification('exit');
    assert.equal(await server.exited, 0, server.stderr());
  });
});
