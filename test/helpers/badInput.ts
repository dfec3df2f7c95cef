/**
 * What the bad-input suites (test/integration/bad-input.*.test.ts) share: a scratch folder with a tiny
 * corpus and queries, stories260K's arguments, a fast fit, and the checks every refusal must pass (exit
 * code, the file named, no stack trace, nothing raw written to the terminal).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, type CliRun } from './cli';
import { fixture, STORIES260K, TOK512 } from './fixtures';

export const modelArgs = (): string[] => ['--model', STORIES260K(), '--tokenizer', TOK512()];

/** The CLI, killed if it runs for 2 minutes: the hangs these suites guard against then fail, not stall. */
export const runBounded = (args: string[]): Promise<CliRun> => runCli(args, {}, 120_000);

/** A fresh temp folder, removed after the test. */
export function scratch(t: { after: (fn: () => void) => void }, prefix = 'il-bad-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** The first n TinyStories documents as JSONL lines (sources and ids as in the fixture). */
export function storyLines(n: number): string[] {
  return readFileSync(fixture('tinystories', 'valid-head.jsonl'), 'utf8').split('\n').filter(Boolean).slice(0, n);
}

/** Writes a JSONL corpus of the first n stories, plus `extra` raw lines (Buffers for bytes that are not UTF-8). */
export function writeCorpus(dir: string, n = 8, extra: (string | Buffer)[] = [], name = 'corpus.jsonl'): string {
  const path = join(dir, name);
  const parts = [...storyLines(n), ...extra].map((l) => (typeof l === 'string' ? Buffer.from(l + '\n') : Buffer.concat([l, Buffer.from('\n')])));
  writeFileSync(path, Buffer.concat(parts));
  return path;
}

export function writeQueries(
  dir: string,
  queries: Record<string, unknown>[] = [{ id: 'lily', prompt: 'Once upon a time, there was a little girl named', completion: ' Lily.' }],
  name = 'queries.jsonl',
): string {
  const path = join(dir, name);
  writeFileSync(path, queries.map((q) => JSON.stringify(q)).join('\n') + '\n');
  return path;
}

/** Settings that keep every pass short: one thread, 32 tokens per document. */
export const FAST = ['--workers', '1', '--max-len', '32', '--quiet'];

/** Fits factors (ekfac unless `extra` says otherwise) and asserts success. */
export async function fitTiny(corpus: string, out: string, extra: string[] = []): Promise<CliRun> {
  const r = await runBounded(['fit', ...modelArgs(), '--corpus', corpus, '--out', out, ...FAST, ...extra]);
  assert.equal(r.code, 0, r.stderr);
  return r;
}

export async function scoreTiny(corpus: string, factors: string, queries: string, out: string, extra: string[] = []): Promise<CliRun> {
  return runBounded([
    'score',
    ...modelArgs(),
    '--corpus',
    corpus,
    '--factors',
    factors,
    '--queries',
    queries,
    '--out',
    out,
    '--workers',
    '1',
    '--quiet',
    ...extra,
  ]);
}

/** No raw ESC, BEL, CSI or carriage return reaches the terminal. */
export function assertNoRawControls(text: string, what: string): void {
  assert.doesNotMatch(text, /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/, `${what} holds a raw control character: ${JSON.stringify(text)}`);
}

/**
 * A refusal as users must see it: the exit code, every mention (the file, file:line) on stderr, our own
 * sentence rather than a stack trace or raw errno text, and nothing raw on the terminal.
 */
export function assertRefused(r: CliRun, code: number, ...mentions: string[]): void {
  assert.equal(r.code, code, `exit code ${r.code}${r.code === null ? ' (killed: it hung)' : ''}, expected ${code}; stderr: ${r.stderr}`);
  for (const m of mentions) assert.ok(r.stderr.includes(m), `stderr should mention ${m}: ${r.stderr}`);
  assert.doesNotMatch(r.stderr, /\n\s+at |ENOENT:|EACCES:|EISDIR:|TypeError|ERR_/, `no stack trace or raw errno: ${r.stderr}`);
  assertNoRawControls(r.stderr + r.stdout, 'output');
}

export const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** Reads, edits and writes back a JSON file (for tampering tests). */
export function editJson(path: string, edit: (json: Record<string, unknown>) => void): void {
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(json);
  writeFileSync(path, JSON.stringify(json, null, 2) + '\n');
}
