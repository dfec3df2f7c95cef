/**
 * The typed `influenceLens.*` settings (declared for VS Code in package.json; the same names here). The
 * server asks the client for them (workspace/configuration) and caches the answer per scope as a promise
 * until the configuration changes; they are never kept in module globals.
 *
 * Workspace Trust: in an untrusted workspace, a path that points into a workspace folder (relative,
 * `${workspaceFolder}`, absolute inside one, or through a symbolic link that leads into one) is refused,
 * so nothing the workspace controls is loaded.
 */
import { homedir } from 'node:os';
import { existsSync, readlinkSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import {
  type BackendRequest,
  DEFAULT_CANDIDATE_TOTAL,
  DEFAULT_RERANK,
  hubRepoDir,
  InfluenceLensError,
  parseBackendRequest,
  parseHubReference,
  STRATEGIES,
  type Strategy,
} from './engine/api';
import { CONFIGURATION_SECTION } from './protocol';

export interface HoverSettings {
  /** Most helpful documents shown. */
  top: number;
  /** Most harmful documents shown. */
  bottom: number;
  /** With an index: documents per side scored exactly beyond those shown (chosen by the rescoring tier). */
  rerank: number;
  /** With an index: candidates rescored from the index's rescoring tier (sketch's best and worst, BM25's best). */
  candidates: number;
}

export interface InfluenceLensSettings {
  backend: BackendRequest;
  /** Compute worker threads; 0 = automatic (one per core for wasm/cpu, none for native backends). */
  workers: number;
  /** Absolute checkpoint path, or '' when none is configured. */
  model: string;
  /** Absolute tokenizer path, or '' to find it beside the model. */
  tokenizer: string;
  /** Absolute corpus path (JSONL, folder, or <|endoftext|> .txt), or ''. */
  corpus: string;
  /** Factor folder, or '' for one in the extension's storage keyed by model and corpus. */
  factors: string;
  /** Index folder, or '' for one beside the default factors. */
  index: string;
  strategy: Strategy;
  /** Fitting documents (the first ones of the corpus). */
  fitMaxDocuments: number;
  /** Tokens per document for fitting; 0 = the model's context, at most 512. */
  maxLength: number;
  /** λ for every module; null = 0.1 × mean(Λ) per module. */
  damping: number | null;
  /** Rank of low-rank query gradients in batch runs; 0 = full rank. */
  rank: number;
  /** New tokens of a greedy completion. */
  maxNewTokens: number;
  /** Where a hover's greedy completion ends: its first line of content, or only at a stop token / maxNewTokens. */
  completion: 'firstLine' | 'full';
  /** A line that splits a selection into prompt and completion. */
  separator: string;
  hover: HoverSettings;
  /** Without an index, hovers score exactly when the corpus has at most this many tokens (else they offer to). */
  exactHoverTokens: number;
}

export interface SettingsContext {
  /** The first workspace folder: resolves relative paths and `${workspaceFolder}`. */
  baseDir?: string;
  /** Every workspace folder (Workspace Trust checks paths against them). */
  workspaceDirs?: string[];
  /** Workspace Trust. */
  trusted?: boolean;
}

export interface SettingsSource {
  /** The settings for a document scope (undefined: the window's), cached until the next invalidate(). */
  get(scopeUri?: string): Promise<InfluenceLensSettings>;
  /** Drops every cached answer (on workspace/didChangeConfiguration or a trust change). */
  invalidate(): void;
}

export function createSettingsSource(connection: Connection, context: () => SettingsContext): SettingsSource {
  const cache = new Map<string, Promise<InfluenceLensSettings>>();
  return {
    get(scopeUri) {
      const key = scopeUri ?? '';
      let settings = cache.get(key);
      if (!settings) {
        settings = connection.workspace.getConfiguration({ scopeUri, section: CONFIGURATION_SECTION }).then((raw: unknown) => parseSettings(raw, context()));
        // A failed request is not cached: the next get() asks again.
        settings.catch(() => cache.delete(key));
        cache.set(key, settings);
      }
      return settings;
    },
    invalidate() {
      cache.clear();
    },
  };
}

/** Validates the raw section (any JSON, null when the client has none) into typed settings. */
export function parseSettings(raw: unknown, context: SettingsContext = {}): InfluenceLensSettings {
  const section = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  let backend: BackendRequest;
  try {
    backend = parseBackendRequest(optionalString(section, 'backend'));
  } catch (e) {
    throw settingError('backend', (e as Error).message);
  }
  const path = (key: string) => resolveSettingPath(optionalString(section, key), context, key);
  const strategy = optionalString(section, 'strategy') || 'ekfac';
  if (!(STRATEGIES as readonly string[]).includes(strategy))
    throw settingError('strategy', `expected one of ${STRATEGIES.join(', ')}, got ${JSON.stringify(strategy)}`);
  const hover = (section.hover ?? {}) as Record<string, unknown>;
  const completion = optionalString(section, 'completion') || 'firstLine';
  if (completion !== 'firstLine' && completion !== 'full')
    throw settingError('completion', `expected "firstLine" or "full", got ${JSON.stringify(completion)}`);
  const damping = section.damping ?? null;
  if (damping !== null && !(typeof damping === 'number' && Number.isFinite(damping) && damping >= 0)) {
    throw settingError('damping', `expected a number ≥ 0, or null for 0.1 × mean(Λ), got ${JSON.stringify(damping)}`);
  }
  return {
    backend,
    workers: wholeNumber(section, 'workers', 0, 0),
    model: modelSetting(optionalString(section, 'model'), context),
    tokenizer: path('tokenizer'),
    corpus: path('corpus'),
    factors: path('factors'),
    index: path('index'),
    strategy: strategy as Strategy,
    fitMaxDocuments: wholeNumber(section, 'fitMaxDocuments', 100_000, 1),
    maxLength: wholeNumber(section, 'maxLength', 0, 0),
    damping: damping as number | null,
    rank: wholeNumber(section, 'rank', 0, 0),
    maxNewTokens: wholeNumber(section, 'maxNewTokens', 64, 1),
    completion,
    separator: typeof section.separator === 'string' && section.separator.trim() !== '' ? section.separator.trim() : '---',
    hover: {
      top: wholeNumber(hover, 'top', 5, 0, 'hover.top'),
      bottom: wholeNumber(hover, 'bottom', 3, 0, 'hover.bottom'),
      rerank: wholeNumber(hover, 'rerank', DEFAULT_RERANK, 0, 'hover.rerank'),
      candidates: wholeNumber(hover, 'candidates', DEFAULT_CANDIDATE_TOTAL, 0, 'hover.candidates'),
    },
    exactHoverTokens: wholeNumber(section, 'exactHoverTokens', 20_000, 0),
  };
}

function wholeNumber(section: Record<string, unknown>, key: string, fallback: number, min: number, name = key): number {
  const v = section[key] ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw settingError(name, `expected a whole number ≥ ${min}, got ${JSON.stringify(v)}`);
  return v;
}

function optionalString(section: Record<string, unknown>, key: string): string | undefined {
  const v = section[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw settingError(key, `expected a string, got ${JSON.stringify(v)}`);
  return v.trim();
}

function settingError(key: string, why: string): InfluenceLensError {
  return new InfluenceLensError('SETTINGS', `setting ${CONFIGURATION_SECTION}.${key}: ${why}`);
}

/**
 * The model setting: a path, or a repository id (`EleutherAI/pythia-160m[@revision]`) that the local
 * Hugging Face cache holds, kept as written and resolved to its snapshot when the model loads
 * (engine/model/hubCache.ts). A folder of the workspace of that name wins; an id the cache does not hold is a path.
 */
function modelSetting(p: string | undefined, context: SettingsContext): string {
  const ref = p ? parseHubReference(p) : undefined;
  const inWorkspace = p && context.baseDir && context.trusted !== false && existsSync(resolve(context.baseDir, p));
  if (p && ref && !inWorkspace && existsSync(hubRepoDir(ref))) return p;
  return resolveSettingPath(p, context, 'model');
}

/** '' stays ''; `~/` is the home folder; `${workspaceFolder}` and relative paths use the first workspace folder. */
export function resolveSettingPath(p: string | undefined, context: SettingsContext, key = 'path'): string {
  if (!p) return '';
  let path = p;
  const untrusted = context.trusted === false;
  const refuse = (why: string) =>
    new InfluenceLensError(
      'UNTRUSTED',
      `setting ${CONFIGURATION_SECTION}.${key}: ${p} ${why}; the workspace is not trusted, so nothing is loaded from it (trust the workspace, or use a path outside it)`,
    );
  if (path === '~' || path.startsWith('~/')) path = join(homedir(), path.slice(1));
  if (path.includes('${workspaceFolder}')) {
    if (untrusted) throw refuse('is inside the workspace');
    if (!context.baseDir) throw new InfluenceLensError('SETTINGS', `${p}: \${workspaceFolder} needs an open folder`);
    path = path.split('${workspaceFolder}').join(context.baseDir);
  }
  if (!isAbsolute(path)) {
    if (untrusted) throw refuse('is relative to the workspace');
    if (!context.baseDir) throw new InfluenceLensError('SETTINGS', `${p}: a relative path needs an open folder (or use an absolute path)`);
    path = resolve(context.baseDir, path);
  }
  path = resolve(path);
  if (untrusted) {
    // The path as written and with its symbolic links resolved, against each folder both ways: a link
    // outside pointing in (or a workspace reached through a link) is inside too.
    const paths = [path, withLinksResolved(path)];
    const dirs = (context.workspaceDirs ?? []).flatMap((dir) => [resolve(dir), withLinksResolved(resolve(dir))]);
    if (paths.some((q) => dirs.some((dir) => isInside(q, dir))))
      throw refuse(paths[1] === path ? 'is inside the workspace' : `leads into the workspace (${paths[1]})`);
  }
  return path;
}

/** Whether `path` is `dir` or below it, segment by segment ("/ws/..m" is inside "/ws"; "/ws-other" is not). */
export function isInside(path: string, dir: string): boolean {
  const rel = relative(dir, path);
  return rel === '' || (!isAbsolute(rel) && rel.split(sep)[0] !== '..');
}

/** An absolute path with every symbolic link resolved, as far as the path exists (dangling links followed too). */
export function withLinksResolved(path: string, depth = 0): string {
  const rest: string[] = [];
  for (let head = path; ;) {
    try {
      return join(realpathSync(head), ...rest);
    } catch {
      let target: string | undefined;
      try {
        target = readlinkSync(head);
      } catch {
        // not a link (absent, or unreadable): resolve what is above it
      }
      if (target !== undefined && depth < 40) return withLinksResolved(join(resolve(dirname(head), target), ...rest), depth + 1);
      const parent = dirname(head);
      if (parent === head) return path;
      rest.unshift(basename(head));
      head = parent;
    }
  }
}
