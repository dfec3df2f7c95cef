/**
 * Checksums over JSON metadata (factor manifests, shard records, results.json, index manifests): every
 * field a consumer computes with is covered, so an edited count, length, strategy or nllNats is refused
 * on load instead of silently changing scores. The digest is over the parsed values in a canonical form
 * (keys sorted, numbers as JavaScript prints them), so reformatting a file changes nothing while any
 * changed value is caught.
 */
import { createHash } from 'node:crypto';
import { InfluenceLensError } from '../errors';

/** The field that holds the digest of the rest of the object. */
export const SEAL_FIELD = 'metadataSha256';

/** JSON with object keys sorted at every level (arrays keep their order). */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : canonicalJson(v))).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** sha256 (hex) of the object's canonical JSON without its SEAL_FIELD. */
export function metadataDigest(obj: object): string {
  const { [SEAL_FIELD]: _, ...rest } = obj as Record<string, unknown>;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** The object with SEAL_FIELD set to the digest of everything else (a copy; the input is not changed). */
export function seal<T extends object>(obj: T): T & { [SEAL_FIELD]: string } {
  const { [SEAL_FIELD]: _, ...rest } = obj as Record<string, unknown>;
  return { ...(rest as T), [SEAL_FIELD]: metadataDigest(rest) };
}

export interface SealCheck {
  /** The file, named in the error. */
  file: string;
  /** What it is ("factor manifest"), for the message. */
  what: string;
  code: string;
  /** What to do about it ("run fit again"). */
  remedy: string;
}

/** Refuses an object whose SEAL_FIELD is missing (written before checksums) or does not match its content. */
export function verifySeal(obj: unknown, c: SealCheck): void {
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new InfluenceLensError(c.code, `${c.what} ${c.file} is not a JSON object; ${c.remedy}`, { file: c.file });
  }
  const recorded = (obj as Record<string, unknown>)[SEAL_FIELD];
  if (typeof recorded !== 'string') {
    throw new InfluenceLensError(
      c.code,
      `${c.what} ${c.file} has no metadata checksum (written by an older influence-lens, or not by it): its values cannot be verified; ${c.remedy}`,
      {
        file: c.file,
      },
    );
  }
  if (recorded !== metadataDigest(obj)) {
    throw new InfluenceLensError(c.code, `${c.what} ${c.file} does not match its metadata checksum (edited or corrupt); ${c.remedy}`, { file: c.file });
  }
}
