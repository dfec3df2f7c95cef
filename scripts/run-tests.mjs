// Runs node's built-in test runner over test/<suite>/**/*.test.ts with tsx as the TypeScript loader.
// Usage: node scripts/run-tests.mjs unit integration [-- extra node --test flags]
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const dash = args.indexOf('--');
const suites = dash < 0 ? args : args.slice(0, dash);
const extra = dash < 0 ? [] : args.slice(dash + 1);

function collect(dir) {
  let out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(collect(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const files = suites.flatMap((s) => collect(join('test', s))).sort();
if (files.length === 0) {
  console.error(`no test files under ${suites.map((s) => 'test/' + s).join(', ')}`);
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', '--test', '--test-concurrency=1', ...extra, ...files], {
  stdio: 'inherit',
});
process.exit(r.status ?? 1);
