/**
 * Models from the local Hugging Face cache: `EleutherAI/pythia-160m` (or `…@revision`) names the snapshot
 * folder that `huggingface-cli download` / `from_pretrained` left in `$HF_HOME/hub/models--EleutherAI--
 * pythia-160m/snapshots/<commit>/`, found through `refs/<revision>` (default `main`). Nothing is
 * downloaded: a model that is not in the cache is refused with the folder that was looked in. A path
 * that exists always wins over a repository id of the same spelling.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { InfluenceLensError } from '../errors';

export interface HubReference {
  /** `owner/name`. */
  repo: string;
  /** A branch, tag or (possibly abbreviated) commit; undefined: `main`. */
  revision?: string;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** `owner/name` or `owner/name@revision`, as the Hub spells repository ids; undefined for anything else (a path). */
export function parseHubReference(spec: string): HubReference | undefined {
  const at = spec.indexOf('@');
  const repo = at < 0 ? spec : spec.slice(0, at);
  const revision = at < 0 ? undefined : spec.slice(at + 1);
  const parts = repo.split('/');
  if (parts.length !== 2 || !parts.every((p) => NAME.test(p) && !p.includes('..'))) return undefined;
  if (revision !== undefined && !/^[A-Za-z0-9._/-]+$/.test(revision)) return undefined;
  if (revision !== undefined && revision.split('/').some((p) => p === '' || p === '.' || p === '..')) return undefined;
  return { repo, revision };
}

/** The hub cache folder as huggingface_hub finds it: HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export function hubCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const hubCache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE;
  if (hubCache) return hubCache;
  const home = env.HF_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'huggingface');
  return join(home, 'hub');
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir)
      .filter((n) => !n.startsWith('.'))
      .sort();
  } catch {
    return [];
  }
}

/** The names under refs/ (branches and tags; `refs/pr/1` included). */
function refNames(refsDir: string, prefix = ''): string[] {
  return list(join(refsDir, prefix)).flatMap((n) => {
    const rel = prefix === '' ? n : `${prefix}/${n}`;
    return statSync(join(refsDir, rel)).isDirectory() ? refNames(refsDir, rel) : [rel];
  });
}

/** The cache folder of a model repository (`models--owner--name`), whether or not it is there. */
export function hubRepoDir(ref: HubReference, env: NodeJS.ProcessEnv = process.env): string {
  const [owner, name] = ref.repo.split('/');
  return join(hubCacheDir(env), `models--${owner}--${name}`);
}

/** The snapshot folder of a cached model. Throws NOT_FOUND naming what is missing and what is there. */
export function hubSnapshot(ref: HubReference, env: NodeJS.ProcessEnv = process.env): string {
  const repoDir = hubRepoDir(ref, env);
  const spec = ref.revision === undefined ? ref.repo : `${ref.repo}@${ref.revision}`;
  if (!existsSync(repoDir)) {
    throw new InfluenceLensError(
      'NOT_FOUND',
      `model ${spec} is neither a folder nor in the Hugging Face cache (no ${repoDir}); Influence Lens does not download models: ` +
        `fetch it with \`huggingface-cli download ${ref.repo}${ref.revision ? ` --revision ${ref.revision}` : ''}\`, or set HF_HOME to the cache that holds it`,
      { file: repoDir },
    );
  }
  const revision = ref.revision ?? 'main';
  const snapshots = list(join(repoDir, 'snapshots'));
  const refsDir = join(repoDir, 'refs');
  let commit: string | undefined;
  const refFile = join(refsDir, revision);
  if (existsSync(refFile) && statSync(refFile).isFile()) {
    commit = readFileSync(refFile, 'utf8').trim();
  } else if (/^[0-9a-f]{7,40}$/.test(revision)) {
    const matches = snapshots.filter((s) => s.startsWith(revision));
    if (matches.length > 1)
      throw new InfluenceLensError(
        'NOT_FOUND',
        `model ${spec}: revision ${revision} matches several cached snapshots (${matches.join(', ')}); give more of the commit`,
        { file: repoDir },
      );
    commit = matches[0];
  }
  const have = `cached revisions: ${[...refNames(refsDir), ...snapshots].join(', ') || 'none'}`;
  if (commit === undefined) {
    throw new InfluenceLensError(
      'NOT_FOUND',
      `model ${spec}: revision ${revision} is not in the Hugging Face cache ${repoDir} (${have}); Influence Lens does not download models`,
      { file: repoDir },
    );
  }
  const snapshot = join(repoDir, 'snapshots', commit);
  if (!existsSync(snapshot)) {
    throw new InfluenceLensError(
      'NOT_FOUND',
      `model ${spec}: refs/${revision} names commit ${commit}, whose snapshot ${snapshot} is missing (an interrupted download?); ${have}`,
      { file: snapshot },
    );
  }
  return snapshot;
}

/** `owner/name@commit` (7 hex digits) for a snapshot folder of the cache, to show instead of `snapshots/<commit>`; undefined for any other path. */
export function hubLabel(path: string): string | undefined {
  const m = /(?:^|[\\/])models--([^\\/]+?)--([^\\/]+)[\\/]snapshots[\\/]([0-9a-f]{7})[0-9a-f]*[\\/]?$/.exec(path);
  return m ? `${m[1]}/${m[2]}@${m[3]}` : undefined;
}

/**
 * What `--model` or the model setting names: the path itself when it exists (or is absolute, or is not a
 * repository id: the loader then says what is wrong with it), else the cached snapshot of the repository id.
 */
export function resolveModelPath(spec: string, env: NodeJS.ProcessEnv = process.env): string {
  if (isAbsolute(spec) || existsSync(spec)) return spec;
  const ref = parseHubReference(spec);
  return ref ? hubSnapshot(ref, env) : spec;
}
