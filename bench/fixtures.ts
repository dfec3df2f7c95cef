/** The benchmark's inputs: stories260K and TinyStories text from ../shared/fixtures. */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { openModel, type OpenedModel } from '../server/src/engine/model/openModel';
import { ModelRun, type ModelRunOptions } from '../server/src/engine/runs/modelRun';

export function sharedFixtures(): string {
  // dist/bench.js and bench/*.ts both sit one level below the repository root.
  const dir = resolve(__dirname, '..', '..', 'shared', 'fixtures');
  if (!existsSync(dir)) throw new Error(`benchmark fixtures not found at ${dir} (../shared beside the checkout)`);
  return dir;
}

export function openStories260K(): Promise<OpenedModel> {
  const dir = join(sharedFixtures(), 'stories260K');
  return openModel(join(dir, 'stories260K.bin'), join(dir, 'tok512.bin'));
}

export function openStories260KRun(o: Omit<ModelRunOptions, 'model' | 'tokenizer'>): Promise<ModelRun> {
  const dir = join(sharedFixtures(), 'stories260K');
  return ModelRun.open({ ...o, model: join(dir, 'stories260K.bin'), tokenizer: join(dir, 'tok512.bin') });
}

/** TinyStories documents as [BOS] + tokens, truncated to maxLen. */
export function tinyStoriesSequences(m: OpenedModel, maxLen: number): number[][] {
  const lines = readFileSync(join(sharedFixtures(), 'tinystories', 'valid-head.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean);
  return lines.map((line) => [m.tokenizer.bosId, ...m.tokenizer.encode((JSON.parse(line) as { text: string }).text)].slice(0, maxLen));
}
