/**
 * Query files (*.infq) in the editor: their parse (cached per version), diagnostics with exact ranges
 * (the parser's, plus prompts longer than the maximum length once a model is loaded), code lenses above
 * each query ("Score", "Show in panel"), and the query under a position for hovers.
 */
import type { Diagnostic, CodeLens } from 'vscode-languageserver/node';
import { DiagnosticSeverity } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { createHash } from 'node:crypto';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { blockAt, defaultMaxLen, InfluenceLensError, type ParsedQueryFile, parseInfq, type QueryBlock } from '../engine/api';
import { QUERY_LANGUAGE } from '../protocol';
import type { WarmState } from '../session/warmState';

export function isQueryFile(doc: { uri: string; languageId?: string }): boolean {
  return doc.languageId === QUERY_LANGUAGE || doc.uri.toLowerCase().endsWith('.infq');
}

/** The file path of a document URI, for labels and messages (untitled and unusual URIs stay as they are). */
export function documentPath(uri: string): string {
  try {
    return localFilePath(uri);
  } catch {
    return uri;
  }
}

/**
 * The local path a file: URI names, or an error naming the URI: another scheme, a host (a file on
 * another machine), or an encoded NUL or slash that no local path can hold.
 */
export function localFilePath(uri: string): string {
  if (!uri.toLowerCase().startsWith('file:')) throw badUri(uri, 'it is not a file: URI and no open document has it');
  let path: string;
  try {
    path = fileURLToPath(uri);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'ERR_INVALID_FILE_URL_HOST'
        ? `it names a file on the host "${new URL(uri).hostname}"; only local files are read`
        : code === 'ERR_INVALID_FILE_URL_PATH'
          ? 'its path holds an encoded slash (%2F), which no file name can'
          : 'it is not a valid file URI';
    throw badUri(uri, why);
  }
  if (path.includes('\0')) throw badUri(uri, 'its path holds an encoded NUL character (%00), which no file name can');
  return path;
}

function badUri(uri: string, why: string): InfluenceLensError {
  return new InfluenceLensError('USAGE', `cannot read ${uri}: ${why}`, { file: uri });
}

/**
 * The folder of a batch run over `file`: the file's name (its safe characters) and a hash of its whole
 * path, so names such as "..infq" stay inside `resultsDir` and equal names in two folders do not meet.
 */
export function batchFolder(resultsDir: string, file: string): string {
  const stem =
    basename(file)
      .replace(/\.[^.]*$/, '')
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[._-]+/, '') || 'queries';
  return join(resultsDir, `${stem.slice(0, 64)}-${createHash('sha256').update(resolve(file)).digest('hex').slice(0, 10)}`);
}

export class QueryFiles {
  private readonly cache = new Map<string, { version: number; parsed: ParsedQueryFile }>();

  constructor(private readonly state: WarmState) {}

  parse(doc: TextDocument): ParsedQueryFile {
    const hit = this.cache.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.parsed;
    const parsed = parseInfq(doc.getText(), documentPath(doc.uri));
    this.cache.set(doc.uri, { version: doc.version, parsed });
    return parsed;
  }

  forget(uri: string): void {
    this.cache.delete(uri);
  }

  /** The query whose block holds `line`. */
  blockAt(doc: TextDocument, line: number): QueryBlock | undefined {
    return blockAt(this.parse(doc), line);
  }

  diagnostics(doc: TextDocument): Diagnostic[] {
    const parsed = this.parse(doc);
    const out: Diagnostic[] = parsed.diagnostics.map((d) => ({
      range: d.range,
      severity: d.severity === 'error' ? DiagnosticSeverity.Error : DiagnosticSeverity.Warning,
      message: d.message,
      code: d.code,
      source: 'influence-lens',
    }));
    const run = this.state.run;
    if (!run) return out;
    const maxLen = this.state.factorSet?.maxLen ?? defaultMaxLen(run.context);
    for (const b of parsed.blocks) {
      const prompt = 1 + run.tokenizer.encode(b.record.prompt).length;
      const completion = b.record.completion === undefined ? 0 : run.tokenizer.encode(b.record.completion).length;
      const where = b.prompt ?? { first: b.header, last: b.header };
      const range = {
        start: { line: where.first, character: 0 },
        end: {
          line: where.last,
          character: doc.getText({ start: { line: where.last, character: 0 }, end: { line: where.last + 1, character: 0 } }).replace(/\r?\n$/, '').length,
        },
      };
      if (prompt >= maxLen) {
        out.push({
          range,
          severity: DiagnosticSeverity.Error,
          code: 'prompt-too-long',
          source: 'influence-lens',
          message: `the prompt has ${prompt} tokens ([BOS] included); at most ${maxLen - 1} fit the maximum length ${maxLen}`,
        });
      } else if (prompt + completion > maxLen) {
        out.push({
          range,
          severity: DiagnosticSeverity.Error,
          code: 'query-too-long',
          source: 'influence-lens',
          message: `prompt + completion are ${prompt + completion} tokens; the maximum length is ${maxLen}`,
        });
      }
    }
    return out;
  }

  codeLenses(doc: TextDocument): CodeLens[] {
    return this.parse(doc).blocks.flatMap((b) => {
      const range = { start: { line: b.header, character: 0 }, end: { line: b.header, character: 0 } };
      const args = [{ uri: doc.uri, line: b.header }];
      return [
        { range, command: { title: '$(pulse) Score', command: 'influenceLens.scoreQuery', arguments: args } },
        { range, command: { title: 'Show in panel', command: 'influenceLens.showQueryInPanel', arguments: args } },
      ];
    });
  }
}
