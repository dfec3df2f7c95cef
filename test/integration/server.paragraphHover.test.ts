/**
 * Plain textDocument/hover for editors that cannot send a selection, through the real server over stdio,
 * on the demo model and a dozen demo documents: in Markdown and text files it answers for the paragraph
 * under the cursor exactly as the selection request answers for that paragraph, with the line that says what
 * a score means and a link to the README's section; blank lines and other languages get none. A client that
 * sends `selectionHovers` (VS Code's) gets no plain hover in prose, while its selection request and the
 * plain hover on a query file still answer.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { corpusJsonl, DEFAULT_SEED, DEFAULT_SIZE, generateCorpus } from '../../demo/src/corpus/generate';
import { InfluenceHoverRequest, SERVER_COMMANDS, type Range } from '../../server/src/protocol';
import { tempDirs } from '../helpers/influence';
import { initialize, startServer, type Server } from '../helpers/lsp';

const { tmp, cleanup } = tempDirs('il-paragraph-');
const ROOT = resolve(__dirname, '..', '..');

const NOTES = '# Notes\n\nQ: What is the capital of France?\nA:\n\nAnother paragraph.\n';
const PARAGRAPH: Range = { start: { line: 2, character: 0 }, end: { line: 3, character: 2 } };
const QUERY = '=== capital-fr\nkind: factual\n--- prompt\nQ: What is the capital of France?\nA:\n';

interface Hover {
  contents: { kind: string; value: string };
  range: Range;
}

async function open(server: Server, name: string, languageId: string, text: string): Promise<string> {
  const uri = pathToFileURL(join(tmp(), name)).href;
  await server.connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: 1, text } });
  return uri;
}

const hover = (server: Server, uri: string, line: number, character = 0) =>
  server.connection.sendRequest('textDocument/hover', { textDocument: { uri }, position: { line, character } }) as Promise<Hover | null>;

/** A hover's Markdown without what differs between two answers to one prompt: the server-issued ids, the time taken. */
const comparable = (markdown: string) => markdown.replace(/%22ref%22%3A%22[A-Za-z0-9_-]+%22/g, 'REF').replace(/ · \d+ ms\n/, ' · ms\n');

async function start(dir: string, settings: Record<string, unknown>, selectionHovers?: boolean): Promise<Server> {
  const server = startServer(settings);
  await initialize(server, { rootUri: pathToFileURL(dir).href, initializationOptions: { storageDir: join(dir, 'storage'), trusted: true, selectionHovers } });
  await server.statuses.next((s) => s.state === 'ready' && s.model !== undefined && s.corpus?.state === 'ready');
  return server;
}

test('plain hovers answer for the paragraph under the cursor, unless the client sends the selection', { timeout: 600_000 }, async (t) => {
  t.after(cleanup);
  const dir = tmp();
  const corpus = join(dir, 'corpus.jsonl');
  writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).filter((_, i) => i % 320 === 0)));
  const settings = { backend: 'wasm', workers: 2, model: join(ROOT, 'demo', 'model'), corpus, factors: join(dir, 'factors'), maxNewTokens: 8 };
  const servers: Server[] = [];
  t.after(() => servers.forEach((s) => s.process.exitCode === null && s.process.kill()));

  const plain = await start(dir, settings);
  servers.push(plain);
  await plain.connection.sendRequest('workspace/executeCommand', { command: SERVER_COMMANDS.fitFactors, arguments: [] });
  await plain.statuses.next((s) => s.factors?.state === 'ready');

  const notes = await open(plain, 'notes.md', 'markdown', NOTES);
  await t.test('K on a Markdown paragraph: the selection hover of that paragraph', async () => {
    const h = await hover(plain, notes, 3, 1);
    assert.ok(h, 'a hover');
    assert.equal(h.contents.kind, 'markdown');
    assert.deepEqual(h.range, PARAGRAPH);
    const md = h.contents.value;
    assert.match(md, /\*\*Most helpful\*\*[\s\S]*\| 1 \| [+−]\d\.\d\de-?\d+/);
    const selected = await plain.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri: notes }, range: PARAGRAPH });
    assert.ok(selected?.answer && selected.answer.top.length > 0);
    assert.equal(comparable(md), comparable(selected.markdown), 'the same answer as selecting the paragraph');
  });

  await t.test('the hover says what a score means and links to the README section with the formula', async () => {
    const md = (await hover(plain, notes, 2))!.contents.value;
    const line = md.split('\n').find((l) => l.startsWith('Score/nat: '));
    assert.ok(line, md);
    assert.match(
      line,
      /influence-function approximation .* raise the completion's log-probability \(\+ more likely, − less; one more copy among N training documents: about score × nats ÷ N nats\), divided by the completion's \d+\.\d\d nats/,
    );
    const link = /\[README: What a score means\]\((file:\/\/[^)\s]+)#L(\d+)\)$/.exec(line);
    assert.ok(link, line);
    const readme = readFileSync(fileURLToPath(link[1]), 'utf8').split('\n');
    assert.equal(readme[Number(link[2]) - 1], '## What a score means', 'the link opens the section');
    // Its only other links are the extension's commands (ids as arguments, never text).
    assert.deepEqual(
      [...md.matchAll(/\]\(([a-z]+):/g)].map((m) => m[1]).filter((s) => s !== 'command'),
      ['file'],
    );
  });

  await t.test('a blank line, and files that are not prose, get no hover', async () => {
    assert.equal(await hover(plain, notes, 1), null);
    assert.equal(await hover(plain, await open(plain, 'code.ts', 'typescript', 'const capital = "Paris";\n'), 0), null);
  });

  await t.test("a text file as Neovim names it ('text') answers too", async () => {
    const h = await hover(plain, await open(plain, 'notes.txt', 'text', 'The capital of France is\n'), 0, 3);
    assert.match(h?.contents.value ?? '', /\*\*Most helpful\*\*/);
  });

  const vscode = await start(dir, settings, true);
  servers.push(vscode);
  await vscode.statuses.next((s) => s.factors?.state === 'ready');
  await t.test('with selectionHovers: no plain hover in prose; the selection and query files still answer', async () => {
    const uri = await open(vscode, 'notes.md', 'markdown', NOTES);
    assert.equal(await hover(vscode, uri, 3), null);
    const selected = await vscode.connection.sendRequest(InfluenceHoverRequest.type, { textDocument: { uri }, range: PARAGRAPH });
    assert.ok(selected?.answer && selected.answer.top.length > 0, selected?.markdown);
    const query = await hover(vscode, await open(vscode, 'q.infq', 'influence-queries', QUERY), 3);
    assert.match(query?.contents.value ?? '', /\*\*Most helpful\*\*/);
  });
});
