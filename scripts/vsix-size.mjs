// Reports the size of the .vsix `npm run package` just wrote (the newest one in the repository root).
import { readdirSync, statSync } from 'node:fs';

const vsix = readdirSync('.')
  .filter((f) => f.endsWith('.vsix'))
  .map((f) => ({ f, st: statSync(f) }))
  .sort((a, b) => b.st.mtimeMs - a.st.mtimeMs)[0];
if (!vsix) {
  console.error('no .vsix found');
  process.exit(1);
}
console.log(`${vsix.f}: ${(vsix.st.size / 2 ** 20).toFixed(1)} MiB`);
