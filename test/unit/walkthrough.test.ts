/**
 * The "Start with Influence Lens" walkthrough's manifest (package.json, contributes.walkthroughs): every step completes on
 * something the extension really produces (a context key the client sets, or one of its registered
 * commands), its Markdown ships in the package and loads nothing remote, and its buttons run real commands.
 * That the steps complete in VS Code is checked by test/e2e/vscode.test.ts. The last step lists every
 * model family the registry reads and every corpus format, so a family added without it fails here.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { WALKTHROUGH_ID, WALKTHROUGH_STEPS } from '../../client/src/walkthroughKeys';
import { SUPPORTED_MODEL_TYPES } from '../../server/src/engine/model/arch/registry';
import { REPO } from '../helpers/cli';

interface Step {
  id: string;
  title: string;
  description: string;
  media: { markdown?: string; image?: string };
  completionEvents: string[];
}
const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
  contributes: { commands: { command: string }[]; walkthroughs: { id: string; steps: Step[] }[] };
};
const [walkthrough] = pkg.contributes.walkthroughs;
const declared = new Set(pkg.contributes.commands.map((c) => c.command));
const registered = readFileSync(join(REPO, 'client', 'src', 'extension.ts'), 'utf8');

test('the walkthrough has the four steps of a first run, in order, as the client completes them', () => {
  assert.equal(walkthrough.id, WALKTHROUGH_ID);
  assert.deepEqual(
    walkthrough.steps.map((s) => s.id),
    ['openDemo', 'hoverSelection', 'openPanel', 'ownModel'],
  );
  assert.deepEqual(
    Object.keys(WALKTHROUGH_STEPS),
    walkthrough.steps.map((s) => s.id),
  );
});

test('every step completes on the context key the client sets for it or on a command the extension registers', () => {
  for (const step of walkthrough.steps) {
    assert.ok(step.completionEvents.length > 0, `${step.id} completes on something the user does`);
    for (const event of step.completionEvents) {
      const [kind, what] = event.split(/:(.*)/s);
      if (kind === 'onContext')
        assert.equal(what, WALKTHROUGH_STEPS[step.id as keyof typeof WALKTHROUGH_STEPS], `${step.id}: ${what} is set by client/src/walkthrough.ts`);
      else if (kind === 'onCommand') {
        assert.ok(declared.has(what), `${step.id}: ${what} is declared in package.json`);
        assert.ok(registered.includes(`'${what}'`), `${step.id}: ${what} is registered in client/src/extension.ts`);
      } else assert.fail(`${step.id}: unexpected completion event ${event}`);
    }
  }
});

test('the buttons in the steps run commands the extension declares', () => {
  for (const step of walkthrough.steps) {
    for (const [, command] of step.description.matchAll(/\]\(command:([\w.]+)\)/g)) assert.ok(declared.has(command), `${step.id}: ${command}`);
  }
});

test("each step's Markdown ships with the extension and loads nothing remote", () => {
  const ignored = readFileSync(join(REPO, '.vscodeignore'), 'utf8');
  assert.doesNotMatch(ignored, /^media\//m, 'media/ is packaged');
  for (const step of walkthrough.steps) {
    const file = step.media.markdown;
    assert.ok(file, `${step.id} has Markdown`);
    assert.ok(existsSync(join(REPO, file)), `${file} exists`);
    const text = readFileSync(join(REPO, file), 'utf8');
    assert.doesNotMatch(text, /\]\((https?:)?\/\/|<img|src=/i, `${file} loads no remote resource or image`);
  }
});

test('"Point it at your own model and corpus" names every model_type the registry reads and every corpus format', () => {
  const step = walkthrough.steps.find((s) => s.id === 'ownModel')!;
  const markdown = readFileSync(join(REPO, step.media.markdown!), 'utf8');
  for (const [where, text] of [
    ['package.json', step.description],
    [step.media.markdown!, markdown],
  ] as const) {
    for (const modelType of SUPPORTED_MODEL_TYPES) assert.match(text, new RegExp(`\\b${modelType}\\b`), `${where} names model_type ${modelType}`);
    for (const format of ['JSONL', '.jsonl.gz', '.jsonl.zst', 'Parquet', 'train-00000-of-00042.parquet', '.txt', '<|endoftext|>', 'EleutherAI/pythia-160m']) {
      assert.ok(text.includes(format), `${where} names ${format}`);
    }
  }
});
