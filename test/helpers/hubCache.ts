/** A Hugging Face cache laid out as huggingface_hub writes it (blobs by content hash, symlinked snapshots, refs), built from the committed demo model. */
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const DEMO_MODEL = resolve(__dirname, '..', '..', 'demo', 'model');
export const DEMO_FILES = ['config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json'];

/** Writes `files` of the demo model as the snapshot `commit` of `repo` under `hfHome`, and points refs/<ref> at it; returns the snapshot folder. */
export function cacheSnapshot(hfHome: string, repo: string, commit: string, files: string[] = DEMO_FILES, ref?: string): string {
  const repoDir = join(hfHome, 'hub', `models--${repo.replace('/', '--')}`);
  const dir = join(repoDir, 'snapshots', commit);
  mkdirSync(dir, { recursive: true });
  mkdirSync(join(repoDir, 'blobs'), { recursive: true });
  for (const f of files) {
    const hash = createHash('sha256')
      .update(readFileSync(join(DEMO_MODEL, f)))
      .digest('hex');
    copyFileSync(join(DEMO_MODEL, f), join(repoDir, 'blobs', hash));
    symlinkSync(join('..', '..', 'blobs', hash), join(dir, f));
  }
  if (ref) {
    mkdirSync(join(repoDir, 'refs', ref, '..'), { recursive: true });
    writeFileSync(join(repoDir, 'refs', ref), commit);
  }
  return dir;
}
