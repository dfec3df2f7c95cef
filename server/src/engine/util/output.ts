/**
 * Output folders (`--out`): checked, created and probed before any computing, so that a bad --out fails
 * in a second with a sentence instead of after an hour's pass with raw errno text, and so that no command
 * replaces or deletes files another command wrote (an index build clears its own folder first: aimed at
 * a factor folder it would delete the factors' manifest). A results or index folder is locked while a
 * command writes it (two `score --out X` at once would lose one result), and a folder a run created is
 * removed again when the run fails before writing anything into it.
 */
import {
  closeSync,
  existsSync,
  fsyncSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  rmdirSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
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

/** How messages name an output: the option it was given with (`--out` unless said otherwise), and why it is written. */
export interface OutputOptions {
  /** The option that named the path (default `--out`). */
  option?: string;
  /** Appended to a "cannot write" sentence: why this command writes there (e.g. "analyze writes analysis.json beside the results"). */
  purpose?: string;
}

const optionOf = (o: OutputOptions) => o.option ?? '--out';
const because = (o: OutputOptions) => (o.purpose ? ` (${o.purpose})` : '');

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

/**
 * Creates the missing folders of `dir` one by one (a recursive mkdir spins forever on /proc); returns
 * those it created, outermost first.
 */
function createFolders(dir: string, o: OutputOptions = {}): string[] {
  const option = optionOf(o);
  const missing: string[] = [];
  let at = dir;
  for (;;) {
    let st;
    try {
      st = statSync(at);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw usage(`${option} ${dir}: ${fsErrorSentence(e, at, 'use')}`, dir);
      missing.push(at);
      const parent = dirname(at);
      if (parent === at) throw usage(`${option} ${dir}: cannot create it`, dir);
      at = parent;
      continue;
    }
    if (!st.isDirectory()) throw usage(`${option} ${dir}: ${at} is ${fileKind(st)}, not a folder`, dir);
    break;
  }
  const created: string[] = [];
  for (const folder of missing.reverse()) {
    try {
      mkdirSync(folder);
      created.push(folder);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && statSync(folder).isDirectory()) continue; // made by a parallel shard
      removeEmptyFolders(created);
      throw usage(`${option} ${dir}: ${createSentence(e, folder, 'create')}`, dir);
    }
  }
  return created;
}

/** Removes folders (outermost first in `folders`) that are empty, innermost first; stops at one that is not. */
function removeEmptyFolders(folders: string[]): void {
  for (const folder of [...folders].reverse()) {
    try {
      if (readdirSync(folder).length > 0) return;
      rmdirSync(folder);
    } catch {
      return;
    }
  }
}

/** Writes, fsyncs and removes a small file: the folder is writable (permissions, read-only mounts, quotas). */
function probe(dir: string, o: OutputOptions = {}): void {
  const path = join(dir, `.influence-lens-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(path, 'wx');
    writeSync(fd, Buffer.from('influence-lens write probe\n'));
    fsyncSync(fd);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const sentence = `${optionOf(o)} ${dir}: ${createSentence(e, dir, 'write to')}${because(o)}`;
    throw code === 'ENOSPC' || code === 'EIO' || code === 'EDQUOT' ? new InfluenceLensError('IO', sentence, { file: dir, cause: e }) : usage(sentence, dir);
  } finally {
    if (fd !== undefined) closeSync(fd);
    rmSync(path, { force: true });
  }
}

/** The lock file of a results or index folder while a command writes it. */
export const OUTPUT_LOCK = '.influence-lens.lock';

interface LockRecord {
  pid: number;
  host: string;
  startedAt: string;
  command: string;
}

/** An output this process prepared: released (lock removed; on failure, the folders it created removed if still empty) when done. */
interface Claim {
  created: string[];
  lock: string | undefined;
  holders: number;
  failed: boolean;
}

const claims = new Map<string, Claim>();
let exitHookInstalled = false;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readLock(path: string): LockRecord | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      const n = readSync(fd, buf, 0, buf.length, 0);
      const r = JSON.parse(buf.subarray(0, n).toString('utf8')) as LockRecord;
      return Number.isSafeInteger(r?.pid) && typeof r.host === 'string' ? r : undefined;
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

/**
 * The holder touches its lock this often; a lock on another machine untouched for LOCK_STALE_MS is a dead
 * writer's (a Slurm task or pod killed on one node and retried on another cannot ask the first node's pids).
 */
const LOCK_HEARTBEAT_MS = 30_000;
export const LOCK_STALE_MS = 5 * 60_000;
const heartbeats = new Map<string, NodeJS.Timeout>();

/** A lock whose process is gone: this machine's pid no longer runs, or another machine's lock stopped beating. */
function staleLock(path: string, holder: LockRecord | undefined): boolean {
  if (holder && holder.host === hostname()) return holder.pid !== process.pid && !alive(holder.pid);
  try {
    return Date.now() - statSync(path).mtimeMs > (holder ? LOCK_STALE_MS : 60_000);
  } catch {
    return true; // removed meanwhile
  }
}

function startHeartbeat(path: string): void {
  const beat = setInterval(() => {
    try {
      const now = new Date();
      utimesSync(path, now, now);
    } catch {
      // the folder went away: nothing left to hold
    }
  }, LOCK_HEARTBEAT_MS);
  beat.unref();
  heartbeats.set(path, beat);
}

function removeLock(path: string): void {
  clearInterval(heartbeats.get(path));
  heartbeats.delete(path);
  rmSync(path, { force: true });
}

/** Takes `dir`'s lock for this process, or refuses naming the process that holds it. */
function takeLock(dir: string, o: OutputOptions): string {
  const path = join(dir, OUTPUT_LOCK);
  const record: LockRecord = {
    pid: process.pid,
    host: hostname(),
    startedAt: new Date().toISOString(),
    command: basename(process.argv[1] ?? 'node') + (process.argv[2] ? ` ${process.argv[2]}` : ''),
  };
  for (let attempt = 0; ; attempt++) {
    let fd: number;
    try {
      fd = openSync(path, 'wx');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw usage(`${optionOf(o)} ${dir}: ${createSentence(e, dir, 'write to')}${because(o)}`, dir);
      const holder = readLock(path);
      if (attempt === 0 && staleLock(path, holder)) {
        rmSync(path, { force: true });
        continue;
      }
      const who = holder
        ? `process ${holder.pid}${holder.host === hostname() ? '' : ` on ${holder.host}`} (${holder.command}, since ${holder.startedAt})`
        : 'another process';
      throw new InfluenceLensError(
        'OUTPUT_BUSY',
        `${optionOf(o)} ${dir} is being written by ${who}; wait for it to finish, or choose another ${optionOf(o)} (if no such process runs any more, delete ${path}; a lock from another machine is taken over once untouched for ${LOCK_STALE_MS / 60_000} minutes)`,
        { file: dir },
      );
    }
    try {
      writeSync(fd, Buffer.from(JSON.stringify(record) + '\n'));
    } finally {
      closeSync(fd);
    }
    startHeartbeat(path);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // A process that exits without releasing (process.exit, a second Ctrl-C) leaves no lock behind.
      process.once('exit', () => {
        for (const c of claims.values()) if (c.lock) rmSync(c.lock, { force: true });
      });
    }
    return path;
  }
}

function claim(out: string, created: string[], lock: string | undefined): void {
  claims.set(out, { created, lock, holders: 1, failed: false });
}

/**
 * Makes `dir` ready to receive an artefact of `kind`, before any computing: refuses an existing file or
 * device, a folder holding another kind of artefact, and a folder that is also one of `inputs`; creates
 * what is missing and probes that it can be written; locks a results or index folder against another
 * process writing it at the same time (factor folders are shared by the shards of a fit). Returns the
 * absolute path. Errors have code USAGE (a wrong --out; the CLI exits 2), OUTPUT_BUSY, or IO (a full
 * disk), and a sentence naming the path. Call releaseOutput when done (the CLI releases every output
 * when the command ends); a prepared output prepared again in the same process is shared, not refused.
 */
export function prepareOutput(dir: string, kind: ArtefactKind, inputs: string[] = [], o: OutputOptions = {}): string {
  const out = resolve(dir);
  const held = claims.get(out);
  if (held) {
    assertNotInput(out, inputs);
    assertOutputKind(out, kind);
    held.holders++;
    return out;
  }
  let st;
  try {
    st = statSync(out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw usage(`${optionOf(o)} ${out}: ${fsErrorSentence(e, out, 'use')}`, out);
  }
  if (st && !st.isDirectory()) throw usage(`${optionOf(o)} ${out} is ${fileKind(st)}; it must be a folder (new, or one that holds ${DESCRIPTION[kind]})`, out);
  let created: string[] = [];
  if (st) {
    assertNotInput(out, inputs);
    assertOutputKind(out, kind);
  } else {
    created = createFolders(out, o);
  }
  try {
    probe(out, o);
    const lock = kind === 'factors' ? undefined : takeLock(out, o);
    claim(out, created, lock);
  } catch (e) {
    removeEmptyFolders(created);
    throw e;
  }
  return out;
}

/**
 * Ends this process's use of an output prepared with prepareOutput or prepareOutputFile: the last
 * release removes the lock and, when the run failed, the folders it created that are still empty.
 */
export function releaseOutput(dir: string, o: { failed?: boolean } = {}): void {
  const out = resolve(dir);
  const c = claims.get(out);
  if (!c) return;
  if (o.failed) c.failed = true;
  if (--c.holders > 0) return;
  claims.delete(out);
  if (c.lock) removeLock(c.lock);
  if (c.failed) removeEmptyFolders(c.created);
}

/** Releases every output of this process (the CLI, when a command ends). */
export function releaseAllOutputs(o: { failed?: boolean } = {}): void {
  for (const [out, c] of [...claims]) {
    c.holders = 1;
    releaseOutput(out, o);
  }
}

/** Whether `name` is a file that an artefact folder owns (a report must never take its name). */
function ownedName(name: string): boolean {
  return name === 'manifest.json' || SIGNATURES.some((s) => s.test(name));
}

/** What a --out file may replace: a file this tool wrote, recognised by its first bytes. */
export interface OutputFileOptions extends OutputOptions {
  /** What is written, for messages ("the report"). */
  what: string;
  /** Whether an existing file (its first 4 KiB, as text) is one this command wrote and may replace. */
  isOurs: (head: string) => boolean;
}

/**
 * Makes `path` ready to receive a file written through a temp file and a rename (a report), before
 * anything is read: refuses a symbolic link (the rename would replace the link), a device, FIFO, socket
 * or folder, an existing file that this command did not write, and the name of a file an artefact folder
 * owns (results.json, manifest.json, …); creates the missing folders and probes that they can be written.
 * Returns the absolute path; release it with releaseOutput.
 */
export function prepareOutputFile(path: string, o: OutputFileOptions): string {
  const out = resolve(path);
  const option = optionOf(o);
  let st;
  try {
    st = lstatSync(out);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw usage(`${option} ${out}: ${fsErrorSentence(e, out, 'use')}`, out);
  }
  if (st?.isSymbolicLink()) {
    let target = '';
    try {
      target = ` (to ${readlinkSync(out)})`;
    } catch {
      // unreadable link: named without its target
    }
    throw usage(
      `${option} ${out} is a symbolic link${target}; ${o.what} is written to a new file that replaces ${out}, which would replace the link: give the path of a regular file, or - for standard output`,
      out,
    );
  }
  if (st && !st.isFile())
    throw usage(`${option} ${out} is ${fileKind(st)}; it must be a file (new, or ${o.what} written by influence-lens), or - for standard output`, out);
  if (st) {
    let head = '';
    try {
      const fd = openSync(out, 'r');
      try {
        const buf = Buffer.alloc(4096);
        head = buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      throw usage(`${option} ${out}: ${fsErrorSentence(e, out)}`, out);
    }
    if (!o.isOurs(head))
      throw usage(
        `${option} ${out} already exists and is not ${o.what} written by influence-lens; it is left as it is: remove it or choose another ${option}`,
        out,
      );
  }
  if (ownedName(basename(out)))
    throw usage(`${option} ${out}: ${basename(out)} is the name of a file of an influence-lens artefact folder; choose another file name`, out);
  const parent = dirname(out);
  const created = createFolders(parent, o);
  try {
    probe(parent, o);
  } catch (e) {
    removeEmptyFolders(created);
    throw e;
  }
  const held = claims.get(out);
  if (held) held.holders++;
  else claim(out, created, undefined);
  return out;
}

/**
 * Prepares outputs (each a call of prepareOutput or prepareOutputFile), runs `fn`, and releases them:
 * on failure (a refusal included) the folders the preparation created are removed if still empty.
 */
export async function withOutputs<T>(prepare: (() => string)[], fn: () => Promise<T>): Promise<T> {
  const prepared: string[] = [];
  let failed = true;
  try {
    for (const p of prepare) prepared.push(p());
    const out = await fn();
    failed = false;
    return out;
  } finally {
    for (const out of prepared.reverse()) releaseOutput(out, { failed });
  }
}
