/**
 * The index scan: a query vector dotted with each document's kept entries. Pure host code, run by the
 * searcher itself or, split by chunks, by every compute thread (IndexPart) so that a query uses all cores.
 */
import { readChunk, readManifest, type IndexRows } from './store';
import type { IndexChunk, IndexManifest } from './types';

/** The chunks a thread holds when the index is split over `parts` threads: every parts-th, from `part`. */
export const chunksOfPart = (chunks: IndexChunk[], part: number, parts: number): IndexChunk[] => chunks.filter((_, c) => c % parts === part);

/** out[r] = Σ_modules scale · Σ_kept query[position] · value / 127 for every row of a chunk. */
export function scoreRows(rows: IndexRows, manifest: IndexManifest, query: Float32Array, out: Float32Array): void {
  const { positions, values, scales } = rows;
  const E = manifest.entries;
  const M = manifest.modules.length;
  const bases: number[] = [];
  let qoff = 0;
  for (const m of manifest.modules) {
    bases.push(qoff);
    qoff += m.outDim * m.inDim;
  }
  for (let r = 0; r < rows.count; r++) {
    let total = 0;
    let k = r * E;
    for (let m = 0; m < M; m++) {
      const q = bases[m];
      const end = k + manifest.modules[m].kept;
      // Four partial sums: the loop is latency-bound on one accumulator.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      for (; k + 3 < end; k += 4) {
        s0 += query[q + positions[k]] * values[k];
        s1 += query[q + positions[k + 1]] * values[k + 1];
        s2 += query[q + positions[k + 2]] * values[k + 2];
        s3 += query[q + positions[k + 3]] * values[k + 3];
      }
      for (; k < end; k++) s0 += query[q + positions[k]] * values[k];
      total += (s0 + s1 + s2 + s3) * scales[r * M + m];
    }
    out[r] = total / 127;
  }
}

/** One thread's share of an index, loaded (and hash-checked) by that thread. */
export class IndexPart {
  private readonly chunks: IndexChunk[];
  private readonly rows: IndexRows[];
  private readonly manifest: IndexManifest;

  constructor(dir: string, part: number, parts: number) {
    this.manifest = readManifest(dir);
    this.chunks = chunksOfPart(this.manifest.chunks, part, parts);
    this.rows = this.chunks.map((c) => readChunk(dir, this.manifest, c));
  }

  get documents(): number {
    return this.chunks.reduce((n, c) => n + c.count, 0);
  }

  /** Scores of this part's documents, chunk after chunk. */
  scan(query: Float32Array): Float32Array {
    const out = new Float32Array(this.documents);
    let at = 0;
    this.rows.forEach((rows) => {
      scoreRows(rows, this.manifest, query, out.subarray(at, at + rows.count));
      at += rows.count;
    });
    return out;
  }
}
