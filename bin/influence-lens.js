#!/usr/bin/env node
// The CLI entry point installed as `influence-lens`; the code lives in the esbuild bundle.
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const cli = join(__dirname, '..', 'dist', 'cli.js');
if (!existsSync(cli)) {
  process.stderr.write('influence-lens: dist/cli.js is missing; run `npm run build` first\n');
  process.exit(1);
}
require(cli)
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
