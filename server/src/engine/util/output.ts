/**
 * Output folders (`--out`): checked, created and probed before any computing, so that a bad --out fails
 * in a second with a sentence instead of after an hour's pass with raw errno text, and so that no command
 * replaces or deletes files another command wrote (an index build clears its own folder first: aimed at
 * a factor folder it would delete the factors' manifest).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, realpathSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { InfluenceLensError } from '../errors';
import { FILE_LIMITS, fileKind, fsErrorSentence, readJsonBounded } from './files';

/** The folders the engine writes. */
export type ArtefactKind = 'factors' | 'results' | 'index';

const DESCRIPTION: Record<ArtefactKind, string> = {
  factors: 'EK-FAC factors',
  results: 'scoring results',
  index: 'a gradient index',
};

/** Files that only one kind of folder holds. */
const SIGNATURES: { kind: ArtefactKind; test: (name: string) => boolean }[] = [
  { kind: 'factors', test: (n) => ['covariance.safetensors', 'eigen.safetensors', 'lambda.safetensors', 'shards'].includes(n) },
  { kind: 'results', test: (n) => ['results.json', 'scores.f32', 'self.f32', 'analysis.json'].includes(n) },
  { kind: 'index', test: (n) => n === 'documents.json' || /^chunk-\d+\.bin$/.test(n) },
];

/** What a manifest.json belongs to: factors record stages and settings, an index lists chunks. */
function manifestKind(path: string): ArtefactKind | undefined {
  let m: unknown;
  try {
    m = readJsonBounded(path, { what: 'manifest', maxBytes: FILE_LIMITS.smallJson });
  } catch {
    return undefined;
  }
  if (typeof m !== 'object' || m === null) return undefined;
  if ('stages' in m && 'settings' in m) return 'factors';
  if ('chunks' in m && 'modules' in m) return 'index';
  return undefined;
}

/**
 * The kinds of artefact a folder holds, by the files in it (empty: none; 'unknown' for a manifest.json
 * this tool did not write).
 */
export function artefactKinds(dir: string): (ArtefactKind | 'unknown')[] {
  const kinds = new Set<ArtefactKind | 'unknown'>();
  for (const name of readdirSync(dir)) {
    if (name === 'manifest.json') kinds.add(manifestKind(join(dir, name)) ?? 'unknown');
    for (const s of SIGNATURES) if (s.test(name)) kinds.add(s.kind);
  }
  return [...kinds];
}

function usage(message: string, file: string): InfluenceLensError {
  return new InfluenceLensError('USAGE', message, { file });
}

/** Creating something failed: ENOENT then means a file system that does not allow it (procfs, sysfs). */
function createSentence(e: unknown, path: string, verb: string): string {
  if ((e as NodeJS.ErrnoException).code === 'ENOENT') return `cannot ${verb} ${path}: this file system does not allow creating files there`;
  return fsErrorSentence(e, path, verb);
}

/**
 * Refuses a folder that holds another kind of artefact (or a manifest.json of unknown origin). Engine
 * functions that clear or overwrite files in a folder call this first.
 */
export function assertOutputKind(dir: string, kind: ArtefactKind): void {
  if (!existsSync(dir)) return;
  const other = artefactKinds(dir).filter((k) => k !== kind);
  if (other.length === 0) return;
  const holds = other.map((k) => (k === 'unknown' ? 'a manifest.json that influence-lens did not write' : DESCRIPTION[k])).join(' and ');
  throw usage(`${dir} holds ${holds}; writing ${DESCRIPTION[kind]} there would replace files another command wrote: choose another --out`, dir);
}

/** Refuses an output folder that is also one of the command's input folders (it would be read while written). */
export function assertNotInput(out: string, inputs: string[]): void {
  if (!existsSync(out)) return;
  const real = realpathSync(out);
  const same = inputs.find((i) => existsSync(i) && realpathSync(i) === real);
  if (same !== undefined) throw usage(`--out ${out} is also an input (${same}); write to another folder`, out);
}

/** Creates the missing folders of `dir` one by one (a recursive mkdir spins forever on /proc). */
function createFolders(dir: string): void {
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    let st;
    try {
      st = statSync(at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw usage(`--out ${dir}: ${fsErrorSentence(e, at, 'use')}`, dir);
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) throw usage(`--out ${dir}: cannot create it`, dir);
      at = parent;
      continue;
    }
    if (!st.isDirectory()) throw usage(`--out ${dir}: ${at} is ${fileKind(st)}, not a folder`, dir);
    break;
  }
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(folder).isDirectory()) continue; // made by a parallel shard
      throw usage(`--out ${dir}: ${createSentence(e, folder, 'create')}`, dir);
    }
  }
}

/** Writes, fsyncs and removes a small file: the folder is writable (permissions, read-only mounts, quotas). */
function probe(dir: string): void {
  const path = join(dir, `.influence-lens-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx');
    writeSync(fd, Buffer.from('influence-lens write probe\n'));
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const sentence = `--out ${dir}: ${createSentence(e, dir, 'write to')}`;
    throw code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT' ? new InfluenceLensError('IO', sentence, { file: dir, cause: e }) : usage(sentence, dir);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(path, { force: true });
  }
}

/**
 * Makes `dir` ready to receive an artefact of `kind`, before any computing: refuses an existing file or
 * device, a folder holding another kind of artefact, and a folder that is also one of `inputs`; creates
 * what is missing and probes that it can be written. Returns the absolute path. Errors have code USAGE
 * (a wrong --out; the CLI exits 2) or IO (a full disk), and a sentence naming the path.
 */
export function prepareOutput(dir: string, kind: ArtefactKind, inputs: string[] = []): string {
  const out = resolve(dir);
  let st;
  try {
    st = statSync(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw usage(`--out ${out}: ${fsErrorSentence(e, out, 'use')}`, out);
  }
  if (st && !st.isDirectory()) throw usage(`--out ${out} is ${fileKind(st)}; it must be a folder (new, or one that holds ${DESCRIPTION[kind]})`, out);
  if (st) {
    assertNotInput(out, inputs);
    assertOutputKind(out, kind);
  } else {
    createFolders(out);
  }
  probe(out);
  return out;
}
