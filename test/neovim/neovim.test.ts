/**
 * docs/PROTOCOL.md's Neovim setup, taken verbatim from the page (only its three `/path/to/…` filled in), run
 * in a real Neovim (Debian's 0.7; the 0.8 block too where the installed Neovim is 0.8 or later) against the
 * built server, the demo model and a slice of the demo corpus: the documented fit command fits the factors,
 * and `K` on a query of demo/queries.infq, `K` on a Markdown paragraph, the documented selection mapping and
 * influenceLens/queryInfluence all answer with ranked documents and the line that says what a score means.
 * Skips, saying why, without `nvim` (`apt-get install neovim`) or dist/server.js (`npm run build`).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { corpusJsonl, DEFAULT_SEED, DEFAULT_SIZE, generateCorpus } from '../../demo/src/corpus/generate';
import type { InfluenceHoverResult } from '../../server/src/protocol';

const ROOT = resolve(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'PROTOCOL.md');
const QUERIES = join(ROOT, 'demo', 'queries.infq');
const MODEL = join(ROOT, 'demo', 'model');

const nvim = spawnSync('nvim', ['--version'], { encoding: 'utf8' });
const version = /NVIM v(\d+)\.(\d+)/.exec(nvim.stdout ?? '');
const SKIP = !version
  ? 'Neovim is not installed (apt-get install neovim; .ci/run installs it)'
  : !existsSync(join(ROOT, 'dist', 'server.js'))
    ? 'dist/server.js is missing (npm run build)'
    : false;

/** The page's Lua blocks by their first line (a comment naming the Neovim they are for). */
function luaBlock(doc: string, firstLine: string): string {
  const block = [...doc.matchAll(/```lua\n([\s\S]*?)```/g)].map((m) => m[1]).find((b) => b.startsWith(firstLine));
  assert.ok(block, `docs/PROTOCOL.md has no Lua block starting "${firstLine}"`);
  return block;
}

/** The user's edit: the three placeholders, each required to be there. */
function fillPaths(lua: string, corpus: string): string {
  const paths: [string, string][] = [
    ['/path/to/influence-lens', ROOT],
    ['/path/to/model', MODEL],
    ['/path/to/corpus.jsonl', corpus],
  ];
  for (const [placeholder, path] of paths) {
    assert.ok(lua.includes(`'${placeholder}`), `the block names ${placeholder}`);
    lua = lua.split(`'${placeholder}`).join(`'${path.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}`);
  }
  return lua;
}

interface Seen {
  error?: string;
  messages: string[];
  queryFiletype?: string;
  notesFiletype?: string;
  queryHover?: string;
  paragraphHover?: string;
  selectionHover?: string;
  queryInfluence?: InfluenceHoverResult | null;
}

/**
 * Runs Neovim headless with `init` as its init.lua and the driver, until it exits (no timer: its exit). The
 * driver quits itself; the `cquit 2` after it runs only when the driver could not be loaded.
 */
async function runNeovim(dir: string, init: string, fit: string, queryLine: number): Promise<Seen> {
  const initFile = join(dir, 'init.lua');
  writeFileSync(initFile, init);
  const resultFile = join(dir, 'result.json');
  const child = spawn('nvim', ['--headless', '-n', '-i', 'NONE', '-u', initFile, '-c', `luafile ${join(__dirname, 'driver.lua')}`, '-c', 'cquit 2'], {
    cwd: dir,
    // HOME: the server's default storage (factors) and Neovim's own files stay in the scratch folder.
    env: {
      ...process.env,
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, 'config'),
      XDG_DATA_HOME: join(dir, 'data'),
      XDG_STATE_HOME: join(dir, 'state'),
      XDG_CACHE_HOME: join(dir, 'cache'),
      IL_NVIM_RESULT: resultFile,
      IL_NVIM_QUERIES: QUERIES,
      IL_NVIM_NOTES: join(dir, 'notes.md'),
      IL_NVIM_FIT: fit,
      IL_NVIM_QUERY_LINE: String(queryLine),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((done) => child.on('exit', done));
  assert.ok(existsSync(resultFile), `Neovim exited (${code}) without a result:\n${output}`);
  const seen = JSON.parse(readFileSync(resultFile, 'utf8')) as Seen;
  assert.equal(seen.error, undefined, `${seen.error}\nmessages: ${seen.messages.join('\n')}\n${output}`);
  assert.equal(code, 0, output);
  return seen;
}

/** A hover's text as Neovim shows it: the documents of both tables and the line on what a score means. */
function assertDocuments(text: string | undefined, what: string): void {
  assert.ok(text, `no hover on ${what}`);
  assert.match(text, /Most helpful/, `${what}:\n${text}`);
  assert.match(text, /Most harmful/, `${what}:\n${text}`);
  assert.match(text, /\| 1 \| [+−]\d\.\d\de-?\d+/, `${what}: a ranked document with its score:\n${text}`);
  assert.match(text, /Score\/nat: under the influence-function approximation/, `${what}:\n${text}`);
}

test("docs/PROTOCOL.md's Neovim setup, run in Neovim against the demo", { skip: SKIP, timeout: 900_000 }, async (t) => {
  const doc = readFileSync(DOC, 'utf8');
  const fit = /`(:lua vim\.lsp\.buf\.execute_command\(\{command = 'influenceLens\.server\.fitFactors'\}\))`/.exec(doc)?.[1];
  assert.ok(fit, 'docs/PROTOCOL.md shows the fit command');
  const selection = luaBlock(doc, '-- Any version');
  const blocks = [luaBlock(doc, '-- Neovim 0.7')];
  const [major, minor] = [Number(version![1]), Number(version![2])];
  if (major > 0 || minor >= 8) blocks.push(luaBlock(doc, '-- Neovim 0.8 and later'));

  const queryLine = readFileSync(QUERIES, 'utf8').split('\n').indexOf('Q: What is the capital of Japan?') + 1;
  assert.ok(queryLine > 0);
  for (const block of blocks) {
    const dir = mkdtempSync(join(tmpdir(), 'il-neovim-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    // A slice of the demo corpus small enough for exact hovers without an index (every 160th document: 25).
    const corpus = join(dir, 'corpus.jsonl');
    writeFileSync(corpus, corpusJsonl(generateCorpus({ seed: DEFAULT_SEED, size: DEFAULT_SIZE }).filter((_, i) => i % 160 === 0)));
    writeFileSync(join(dir, 'notes.md'), '# Notes\n\nQ: What is the capital of France?\nA:\n\nAnother paragraph.\n');

    const name = block.split('\n')[0];
    await t.test(name, async () => {
      const started = Date.now();
      const seen = await runNeovim(dir, `${fillPaths(block, corpus)}\n${selection}`, fit, queryLine);
      t.diagnostic(`${name}: ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(seen.queryFiletype, 'infq');
      assert.equal(seen.notesFiletype, 'markdown');
      assertDocuments(seen.queryHover, 'K on a query');
      assertDocuments(seen.paragraphHover, 'K on a Markdown paragraph');
      assertDocuments(seen.selectionHover, 'the selection mapping');
      const answer = seen.queryInfluence?.answer;
      assert.ok(answer, `influenceLens/queryInfluence: ${JSON.stringify(seen.queryInfluence)}`);
      assert.equal(answer.method, 'exact');
      assert.ok(answer.top.length > 0 && answer.bottom.length > 0, 'ranked documents');
      assert.deepEqual(seen.messages, [], 'no error shown');
    });
  }
});
