/**
 * The typed `influenceLens.*` settings. The server asks the client for them (workspace/configuration)
 * and caches the answer per scope as a promise until the configuration changes; they are never kept in
 * module globals, so every consumer sees the answer to the request it made.
 */
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Connection } from 'vscode-languageserver/node';
import { parseBackendRequest, type BackendRequest } from './engine/backend/backend';
import { InfluenceLensError } from './engine/errors';
import { CONFIGURATION_SECTION } from './protocol';

export interface InfluenceLensSettings {
  backend: BackendRequest;
  /** Compute worker threads; 0 = automatic (one per core for wasm/cpu, none for native backends). */
  workers: number;
  /** Absolute checkpoint path, or '' when none is configured. */
  model: string;
  /** Absolute tokenizer path, or '' to find it beside the model. */
  tokenizer: string;
}

export interface SettingsSource {
  /** The settings for a document scope (undefined: the window's), cached until the next invalidate(). */
  get(scopeUri?: string): Promise<InfluenceLensSettings>;
  /** Drops every cached answer (on workspace/didChangeConfiguration). */
  invalidate(): void;
}

/** `baseDir` resolves relative paths and `${workspaceFolder}` (the first workspace folder, if any). */
export function createSettingsSource(connection: Connection, baseDir: string | undefined): SettingsSource {
  const cache = new Map<string, Promise<InfluenceLensSettings>>();
  return {
    get(scopeUri) {
      const key = scopeUri ?? '';
      let settings = cache.get(key);
      if (!settings) {
        settings = connection.workspace
          .getConfiguration({ scopeUri, section: CONFIGURATION_SECTION })
          .then((raw: unknown) => parseSettings(raw, baseDir));
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
export function parseSettings(raw: unknown, baseDir?: string): InfluenceLensSettings {
  const section = (raw !== null && typeof raw === 'object' ? raw : {}) as Record<string, unknown>;
  let backend: BackendRequest;
  try {
    backend = parseBackendRequest(optionalString(section, 'backend'));
  } catch (e) {
    throw settingError('backend', (e as Error).message);
  }
  const workers = section.workers ?? 0;
  if (typeof workers !== 'number' || !Number.isInteger(workers) || workers < 0) {
    throw settingError('workers', `expected a whole number >= 0 (0 = automatic), got ${JSON.stringify(workers)}`);
  }
  return {
    backend,
    workers,
    model: resolveSettingPath(optionalString(section, 'model'), baseDir),
    tokenizer: resolveSettingPath(optionalString(section, 'tokenizer'), baseDir),
  };
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

/** '' stays ''; `~/` is the home folder; `${workspaceFolder}` and relative paths use baseDir. */
export function resolveSettingPath(p: string | undefined, baseDir: string | undefined): string {
  if (!p) return '';
  let path = p;
  if (path === '~' || path.startsWith('~/')) path = join(homedir(), path.slice(1));
  if (path.includes('${workspaceFolder}')) {
    if (!baseDir) throw new InfluenceLensError('SETTINGS', `${p}: \${workspaceFolder} needs an open folder`);
    path = path.split('${workspaceFolder}').join(baseDir);
  }
  if (isAbsolute(path)) return resolve(path);
  if (!baseDir) throw new InfluenceLensError('SETTINGS', `${p}: a relative path needs an open folder (or use an absolute path)`);
  return resolve(baseDir, path);
}
