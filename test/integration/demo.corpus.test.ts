/**
 * Open Demo's corpus: the server writes it by running the generator as a program of its own (so the
 * generator stays out of the server bundle), and what it writes is the demo corpus's first documents.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import { corpusJsonl, DEFAULT_SEED, DEFAULT_SIZE, generateCorpus } from '../../demo/src/corpus/generate';
import { DEMO_DOCUMENTS } from '../../server/src/handlers/demo';
import { PrepareDemoRequest } from '../../server/src/protocol';
import { scratch } from '../helpers/badInput';
import { initialize, startServer } from '../helpers/lsp';

const ROOT = resolve(__dirname, '..', '..');
const firstDocuments = (n: number) => corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).slice(0, n));

test('the demo size the server asks for by default is the generated corpus size', () => {
  assert.equal(DEMO_DOCUMENTS, DEFAULT_SIZE);
});

test('dist/demoCorpus.js writes the first documents of the demo corpus; dist/server.js holds no generator', (t) => {
  const out = join(scratch(t, 'il-demo-corpus-'), 'corpus.jsonl');
  execFileSync(process.execPath, [join(ROOT, 'dist', 'demoCorpus.js'), '--out', out, '--documents', '60']);
  assert.equal(readFileSync(out, 'utf8'), firstDocuments(60));
  assert.ok(!readFileSync(join(ROOT, 'dist', 'server.js'), 'utf8').includes('function generateCorpus('), 'the generator is bundled into the server');
});

test('Open Demo through the server writes the corpus it points the settings at', { timeout: 120_000 }, async (t) => {
  const dir = scratch(t, 'il-demo-server-');
  const server = startServer({ backend: 'wasm', workers: 1 });
  t.after(() => {
    server.connection.dispose();
    if (server.process.exitCode === null) server.process.kill();
  });
  await initialize(server, {
    rootUri: pathToFileURL(dir).href,
    initializationOptions: { storageDir: join(dir, 'storage'), extensionDir: ROOT, trusted: true },
  });
  const demo = await server.connection.sendRequest(PrepareDemoRequest.type, { documents: 60 });
  assert.ok(existsSync(demo.corpus), `no corpus at ${demo.corpus}`);
  assert.equal(readFileSync(demo.corpus, 'utf8'), firstDocuments(60));
  assert.equal(demo.fitMaxDocuments, 60);
});
