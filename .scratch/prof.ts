import { rankingOf } from '../server/src/engine/report/ranking';
import { histogram } from '../server/src/engine/report/histogram';
import { topKCurve } from '../server/src/engine/report/curve';
import { sourceLadder } from '../server/src/engine/report/sourceLadder';
import { Rng } from '../server/src/engine/util/random';
const n = 1_000_000; const rng = new Rng(1);
const scores = Float32Array.from({ length: n }, () => rng.normal() * Math.exp(rng.normal()));
const documents = Array.from({ length: n }, (_, d) => ({ index: d, id: `doc-${d}`, source: ['a','b','c'][d%3], tokens: 10, file: 'x' }));
const time = (label: string, f: () => unknown) => { const t = performance.now(); const r = f(); console.log(label, (performance.now() - t).toFixed(0)); return r; };
for (let rep = 0; rep < 2; rep++) {
  const s = scores.slice();
  const r = time('rank', () => rankingOf(s)) as ReturnType<typeof rankingOf>;
  const asc = time('asc', () => r.ascending()) as Uint32Array;
  time('hist', () => histogram(s, 2));
  time('curve', () => topKCurve(r.descending, asc, (d) => s[d] / 2, 500));
  time('sources', () => sourceLadder(documents, r.descending, asc));
}
