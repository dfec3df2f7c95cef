import { buildQueryView } from '../server/src/engine/report/queryView';
import { Rng } from '../server/src/engine/util/random';
const n = 1_000_000; const rng = new Rng(1);
const scores = Float32Array.from({ length: n }, () => rng.normal() * Math.exp(rng.normal()));
const documents = Array.from({ length: n }, (_, d) => ({ index: d, id: `doc-${d}`, source: ['a','b','c'][d%3], tokens: 10, file: 'x' }));
for (let rep = 0; rep < 3; rep++) {
  const s = scores.slice();
  let t = performance.now();
  const v = buildQueryView({ ref: 'q', query: { id: 'q', kind: null, task: null, prompt: '', completion: '', nllNats: 2, generated: true }, documents, scores: s });
  console.log('view ms', (performance.now() - t).toFixed(0), JSON.stringify(v).length);
}
