/**
 * The one error type the engine throws for problems a user can fix (bad files, unsupported
 * formats). It carries the file (and line, for text formats) so adapters can show file:line.
 */

export type ErrorCode =
  | 'MODEL_FORMAT'
  | 'PICKLE_REFUSED'
  | 'TRUNCATED'
  | 'UNSUPPORTED'
  | 'NOT_FOUND'
  | 'IO'
  // Other modules may use their own codes; the literal union only helps autocompletion.
  | (string & Record<never, never>);

export interface ErrorLocation {
  file?: string;
  line?: number;
  cause?: unknown;
}

export class InfluenceLensError extends Error {
  readonly code: ErrorCode;
  readonly file?: string;
  readonly line?: number;

  constructor(code: ErrorCode, message: string, where: ErrorLocation = {}) {
    super(message, where.cause === undefined ? undefined : { cause: where.cause });
    this.name = 'InfluenceLensError';
    this.code = code;
    if (where.file !== undefined) this.file = where.file;
    if (where.line !== undefined) this.line = where.line;
  }
}

export function isInfluenceLensError(e: unknown, code?: ErrorCode): e is InfluenceLensError {
  return e instanceof InfluenceLensError && (code === undefined || e.code === code);
}

/** What an adapter shows of an error: one sentence, and the code and place it can point the user at. */
export interface ErrorDescription {
  message: string;
  error: { code: ErrorCode; file?: string; line?: number };
}

/** The user-facing sentence (always naming the file when the engine knows it) and its location; anything else is INTERNAL. */
export function describeError(e: unknown): ErrorDescription {
  if (isInfluenceLensError(e)) {
    const where = e.file === undefined ? '' : e.line === undefined ? e.file : `${e.file}:${e.line}`;
    const message = where && !e.message.includes(e.file as string) ? `${where}: ${e.message}` : e.message;
    const error: ErrorDescription['error'] = { code: e.code };
    if (e.file !== undefined) error.file = e.file;
    if (e.line !== undefined) error.line = e.line;
    return { message, error };
  }
  return { message: e instanceof Error ? e.message : String(e), error: { code: 'INTERNAL' } };
}
