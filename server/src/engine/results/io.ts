/**
 * Writing and reading results folders (see ./types.ts). The data files go first and results.json last;
 * results.json records their sha256 and a checksum over its own values, all checked on load.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { endianness } from 'node:os';
import { InfluenceLensError } from '../errors';
import { writeFileAtomically, writeTextAtomically } from '../util/atomic';
import { FILE_LIMITS, openRegularFileAsync, readFileBounded, readJsonBounded, readJsonBoundedAsync, readOpenedAsync, statRegularFile } from '../util/files';
import { assertFinite, firstNonFinite } from '../util/finite';
import { assertOutputKind } from '../util/output';
import { seal, verifySeal } from '../util/seal';
import { RESULTS_VERSION, type LoadedResults, type ResultsFile, type ResultsMeta } from './types';

const RESULTS = 'results.json';

if (endianness() !== 'LE') throw new Error('results files are little-endian; this platform is big-endian');

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Refuses to record NaN or ±Infinity: such scores come from broken inputs, never from valid ones. */
function checkProduced(meta: ResultsMeta, scores: Float32Array, self: Float32Array | undefined): void {
  const D = meta.documents.length;
  const bad = firstNonFinite(scores);
  if (bad >= 0) {
    const q = meta.queries[Math.floor(bad / D)];
    const d = meta.documents[bad % D];
    throw new InfluenceLensError(
      'SCORES_NOT_FINITE',
      `the score of query ${q?.id} on document ${d?.index} (${d?.file}${d?.line ? `:${d.line}` : ''}) is ${scores[bad]}; nothing was written`,
      { file: d?.file },
    );
  }
  const badSelf = self ? firstNonFinite(self) : -1;
  if (self && badSelf >= 0)
    throw new InfluenceLensError(
      'SCORES_NOT_FINITE',
      `the self-influence of document ${meta.documents[badSelf].index} is ${self[badSelf]}; nothing was written`,
      { file: meta.documents[badSelf].file },
    );
  for (const q of meta.queries) {
    if (!Number.isFinite(q.nllNats))
      throw new InfluenceLensError('SCORES_NOT_FINITE', `query ${q.id} has an information content of ${q.nllNats} nats; nothing was written`);
  }
}

export function writeResults(dir: string, meta: ResultsMeta, scores: Float32Array, self?: Float32Array): ResultsFile {
  if (scores.length !== meta.queries.length * meta.documents.length) {
    throw new Error(`scores hold ${scores.length} values for ${meta.queries.length} queries × ${meta.documents.length} documents`);
  }
  checkProduced(meta, scores, self);
  assertOutputKind(dir, 'results');
  mkdirSync(dir, { recursive: true });
  const results: Omit<ResultsFile, 'metadataSha256'> = { version: RESULTS_VERSION, ...meta, scoresFile: 'scores.f32', scoresSha256: sha256(f32Bytes(scores)) };
  writeFileAtomically(join(dir, results.scoresFile), (write) => write(f32Bytes(scores)));
  if (self) {
    results.selfScoresFile = 'self.f32';
    results.selfScoresSha256 = sha256(f32Bytes(self));
    writeFileAtomically(join(dir, results.selfScoresFile), (write) => write(f32Bytes(self)));
  }
  const sealed = seal(results);
  writeTextAtomically(join(dir, RESULTS), JSON.stringify(sealed, null, 1) + '\n');
  return sealed;
}

function corrupt(message: string, file: string): InfluenceLensError {
  return new InfluenceLensError('RESULTS_CORRUPT', message, { file });
}

/** A data file named in results.json: a plain name inside the folder. */
function dataPath(dir: string, file: unknown): string {
  if (typeof file !== 'string' || !/^[\w.-]+$/.test(file) || file.startsWith('.'))
    throw corrupt(`results.json names the data file ${JSON.stringify(file)}, which is not a file in its folder`, join(dir, RESULTS));
  const path = join(dir, file);
  if (!existsSync(path)) throw corrupt(`missing ${file}`, path);
  return path;
}

function checkSize(path: string, size: number, count: number): void {
  if (size !== count * 4) throw corrupt(`${basename(path)} has ${size} bytes; expected ${count * 4}`, path);
}

/** The floats of a data file's bytes, checked against their hash and for finiteness. */
function f32Of(path: string, bytes: Buffer, expectedSha: unknown, count: number): Float32Array {
  const file = basename(path);
  if (sha256(bytes) !== expectedSha) throw corrupt(`${file} does not match its hash in results.json`, path);
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  assertFinite(out, file, { file: path, code: 'RESULTS_CORRUPT', remedy: 'run score again' });
  return out;
}

/** A data file of exactly `count` floats, with its hash. */
function readF32(dir: string, file: unknown, expectedSha: unknown, count: number): Float32Array {
  const path = dataPath(dir, file);
  checkSize(path, statRegularFile(path, 'scores file').size, count);
  return f32Of(path, readFileBounded(path, { what: 'scores file', maxBytes: count * 4 }), expectedSha, count);
}

/** readF32 through one non-blocking, checked handle, read in pieces: cancellable with `signal`. */
async function readF32Async(dir: string, file: unknown, expectedSha: unknown, count: number, signal?: AbortSignal): Promise<Float32Array> {
  const path = dataPath(dir, file);
  const { handle, size } = await openRegularFileAsync(path, 'scores file');
  try {
    checkSize(path, size, count);
    return f32Of(path, await readOpenedAsync(handle, size, path, { what: 'scores file', signal }), expectedSha, count);
  } finally {
    await handle.close();
  }
}

function resultsPath(dir: string): string {
  const path = join(dir, RESULTS);
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `no results in ${dir}`, { file: path });
  return path;
}

const RESULTS_READ = { what: 'results file', maxBytes: FILE_LIMITS.largeJson, code: 'RESULTS_CORRUPT' } as const;

/** results.json's values checked: its version, its seal, its queries and documents. */
function checkedResults(dir: string, path: string, results: ResultsFile): ResultsFile {
  const version = (results as { version?: unknown } | null)?.version;
  if (version !== RESULTS_VERSION) {
    const older = typeof version === 'number' && version < RESULTS_VERSION;
    throw corrupt(
      older
        ? `results in ${dir} were written in format ${version}, before results carried a metadata checksum: run score again`
        : `unsupported results version ${String(version)} (this tool reads ${RESULTS_VERSION})`,
      path,
    );
  }
  verifySeal(results, { file: path, what: 'results file', code: 'RESULTS_CORRUPT', remedy: 'run score again' });
  if (!Array.isArray(results.queries) || !Array.isArray(results.documents)) throw corrupt('results.json lacks its queries or documents', path);
  for (const q of results.queries) {
    if (typeof q?.nllNats !== 'number' || !Number.isFinite(q.nllNats)) throw corrupt(`query ${String(q?.id)} has no finite nllNats`, path);
  }
  return results;
}

export function readResults(dir: string): LoadedResults {
  const path = resultsPath(dir);
  const results = checkedResults(dir, path, readJsonBounded(path, RESULTS_READ) as ResultsFile);
  const scores = readF32(dir, results.scoresFile, results.scoresSha256, results.queries.length * results.documents.length);
  const self = results.selfScoresFile ? readF32(dir, results.selfScoresFile, results.selfScoresSha256, results.documents.length) : undefined;
  return { dir, results, scores, self };
}

/**
 * readResults for long-lived hosts (the language server's panel): the same checks, every file opened
 * non-blocking and read in pieces, so the event loop stays free and `signal` (the request's
 * cancellation) stops the read.
 */
export async function readResultsAsync(dir: string, signal?: AbortSignal): Promise<LoadedResults> {
  const path = resultsPath(dir);
  const results = checkedResults(dir, path, (await readJsonBoundedAsync(path, { ...RESULTS_READ, signal })) as ResultsFile);
  signal?.throwIfAborted();
  const scores = await readF32Async(dir, results.scoresFile, results.scoresSha256, results.queries.length * results.documents.length, signal);
  const self = results.selfScoresFile ? await readF32Async(dir, results.selfScoresFile, results.selfScoresSha256, results.documents.length, signal) : undefined;
  return { dir, results, scores, self };
}

/** Raw score of query q on document d divided by the query's information content. */
export function perNat(r: LoadedResults, q: number, d: number): number {
  return r.scores[q * r.results.documents.length + d] / r.results.queries[q].nllNats;
}
