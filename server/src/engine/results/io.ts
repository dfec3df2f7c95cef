/** Writing and reading results folders (see ./types.ts). The data files go first and results.json last. */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { endianness } from 'node:os';
import { InfluenceLensError } from '../errors';
import { writeFileAtomically, writeTextAtomically } from '../util/atomic';
import type { LoadedResults, ResultsFile } from './types';

const RESULTS = 'results.json';

if (endianness() !== 'LE') throw new Error('results files are little-endian; this platform is big-endian');

function f32Bytes(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

export function writeResults(
  dir: string,
  meta: Omit<ResultsFile, 'scoresFile' | 'scoresSha256' | 'selfScoresFile' | 'selfScoresSha256'>,
  scores: Float32Array,
  self?: Float32Array,
): ResultsFile {
  if (scores.length !== meta.queries.length * meta.documents.length) {
    throw new Error(`scores hold ${scores.length} values for ${meta.queries.length} queries × ${meta.documents.length} documents`);
  }
  mkdirSync(dir, { recursive: true });
  const results: ResultsFile = { ...meta, scoresFile: 'scores.f32', scoresSha256: sha256(f32Bytes(scores)) };
  writeFileAtomically(join(dir, results.scoresFile), (write) => write(f32Bytes(scores)));
  if (self) {
    results.selfScoresFile = 'self.f32';
    results.selfScoresSha256 = sha256(f32Bytes(self));
    writeFileAtomically(join(dir, results.selfScoresFile), (write) => write(f32Bytes(self)));
  }
  writeTextAtomically(join(dir, RESULTS), JSON.stringify(results, null, 1) + '\n');
  return results;
}

function readF32(dir: string, file: string, expectedSha: string, count: number): Float32Array {
  const path = join(dir, file);
  if (!existsSync(path)) throw new InfluenceLensError('RESULTS_CORRUPT', `missing ${file}`, { file: path });
  const bytes = readFileSync(path);
  if (bytes.length !== count * 4) {
    throw new InfluenceLensError('RESULTS_CORRUPT', `${file} has ${bytes.length} bytes; expected ${count * 4}`, { file: path });
  }
  if (sha256(bytes) !== expectedSha) throw new InfluenceLensError('RESULTS_CORRUPT', `${file} does not match its hash in results.json`, { file: path });
  const out = new Float32Array(count);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

export function readResults(dir: string): LoadedResults {
  const path = join(dir, RESULTS);
  if (!existsSync(path)) throw new InfluenceLensError('NOT_FOUND', `no results in ${dir}`, { file: path });
  let results: ResultsFile;
  try {
    results = JSON.parse(readFileSync(path, 'utf8')) as ResultsFile;
  } catch (e) {
    throw new InfluenceLensError('RESULTS_CORRUPT', `unreadable results.json: ${(e as Error).message}`, { file: path });
  }
  if (results.version !== 1) throw new InfluenceLensError('RESULTS_CORRUPT', `unsupported results version ${results.version}`, { file: path });
  const scores = readF32(dir, results.scoresFile, results.scoresSha256, results.queries.length * results.documents.length);
  const self = results.selfScoresFile ? readF32(dir, results.selfScoresFile, results.selfScoresSha256!, results.documents.length) : undefined;
  return { dir, results, scores, self };
}

/** Raw score of query q on document d divided by the query's information content. */
export function perNat(r: LoadedResults, q: number, d: number): number {
  return r.scores[q * r.results.documents.length + d] / r.results.queries[q].nllNats;
}
