/**
 * The index scan kernel (WebAssembly SIMD): the committed bytes are those scan.wat compiles to, and its
 * scores equal a float64 reference of the same sum on random rows — dense sketches (segments of several
 * widths, one longer than an int32 partial sum's 2,048 values) and blocks (uint16 and uint32 block numbers,
 * modules whose size is not a multiple of the block), with extreme values (int32 partial sums must not
 * overflow); the chunk checksum catches any one changed byte.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChunkScanner, quantizeQuery, querySegments } from '../../server/src/engine/gradindex/scan';
import { queryLength, rowLayout, sketchModules, type SketchChoice } from '../../server/src/engine/gradindex/sketch';
import { ChunkWriter, packBlocksRow, packDenseRow, readChunk, rowOf } from '../../server/src/engine/gradindex/store';
import { SCAN_WASM_BASE64 } from '../../server/src/engine/gradindex/kernel/scanWasm';
import { checksumOf, ScanMemory } from '../../server/src/engine/gradindex/kernel/scanMemory';
import { BLOCK, INDEX_VERSION, type IndexManifest } from '../../server/src/engine/gradindex/types';
import { Rng } from '../../server/src/engine/util/random';

test('the committed kernel bytes are what scan.wat compiles to', async () => {
  // @ts-expect-error: a plain ES module script, no types
  const { compileKernel } = (await import('../../scripts/build-kernel.mjs')) as { compileKernel: () => Promise<Buffer> };
  assert.equal((await compileKernel()).toString('base64'), SCAN_WASM_BASE64);
});

function manifestFor(
  shapes: [number, number][],
  sketch: SketchChoice,
  chunks: IndexManifest['chunks'],
  documents: number,
  positions?: 'U16' | 'U32',
): IndexManifest {
  const modules = sketchModules(
    sketch,
    shapes.map(([outDim, inDim], m) => ({ name: `m${m}`, outDim, inDim })),
  );
  const rows = rowLayout(sketch, modules);
  return {
    version: INDEX_VERSION,
    tool: 'test',
    model: { fingerprint: 'x', path: 'x' },
    corpus: { fingerprint: 'x', path: 'x' },
    factors: { path: 'x', strategy: 'ekfac', eigenSha256: 'x', lambdaSha256: null },
    sketch: { ...sketch, seed: 0, maxLen: 8 },
    modules,
    rows: { ...rows, positionType: positions ?? rows.positionType },
    documents,
    chunks,
    documentsFile: 'documents.json',
    documentsSha256: '',
    shard: null,
    rescore: null,
    lexical: null,
  };
}

for (const sketch of [
  { kind: 'eigen', size: '24x43' },
  { kind: 'count', size: '2100' },
] as SketchChoice[]) {
  test(`kernel scores equal a float64 reference (${sketch.kind}: segments ${manifestFor(
    [
      [48, 64],
      [300, 50],
    ],
    sketch,
    [],
    0,
  ).rows.segments.join(', ')} values)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'il-kernel-'));
    try {
      const rng = new Rng(sketch.kind === 'eigen' ? 4 : 5);
      // 24×43 = 1,032 values (padded to 1,040) and 24×43 again; count: 2,100 (padded to 2,112, past one int32 partial sum).
      const layout = manifestFor(
        [
          [48, 64],
          [300, 50],
        ],
        sketch,
        [],
        0,
      );
      const writer = new ChunkWriter(dir, layout.rows, 8 * 1024);
      const D = 23;
      for (let d = 0; d < D; d++) {
        // Padding stays zero, as the device writes it; document 0 at full scale everywhere.
        const values = new Float32Array(layout.rows.values);
        let off = 0;
        for (const width of layout.rows.segments) {
          const real = sketch.kind === 'count' ? Number(sketch.size) : width - 8;
          for (let k = 0; k < real; k++) values[off + k] = d === 0 ? 1 : rng.normal() * (k % 5 === 0 ? 30 : 1);
          off += width;
        }
        writer.push(packDenseRow(values, layout.rows.segments));
      }
      scanAndCheck(
        dir,
        writer,
        (chunks) =>
          manifestFor(
            [
              [48, 64],
              [300, 50],
            ],
            sketch,
            chunks,
            D,
          ),
        rng,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

for (const positions of ['U16', 'U32'] as const) {
  test(`kernel scores equal a float64 reference (blocks, ${positions} block numbers)`, () => {
    const dir = mkdtempSync(join(tmpdir(), 'il-kernel-'));
    try {
      const rng = new Rng(positions === 'U16' ? 1 : 2);
      // 172×64 is not a multiple of 8 per column; 300×50 leaves a padded last block; 64×64 kept whole.
      const shapes: [number, number][] = [
        [172, 64],
        [300, 50],
        [64, 64],
      ];
      const blocks: SketchChoice = { kind: 'blocks', size: '40%' };
      const layout = manifestFor(shapes, blocks, [], 0, positions);
      const writer = new ChunkWriter(dir, layout.rows, 3 * 1024); // a few rows per chunk
      const D = 23;
      for (let d = 0; d < D; d++) {
        const chosen: number[] = [];
        const values: number[] = [];
        for (const m of layout.modules) {
          const all = Array.from({ length: m.blocks! }, (_, b) => b)
            .sort(() => rng.next() - 0.5)
            .slice(0, m.kept);
          chosen.push(...all);
          // Document 0 at full scale everywhere: the int32 partial sums' worst case.
          for (let k = 0; k < m.kept! * BLOCK; k++) values.push(d === 0 ? 1 : rng.normal() * (k % 5 === 0 ? 30 : 1));
        }
        writer.push(
          packBlocksRow(
            chosen,
            values,
            layout.modules.map((m) => m.kept!),
            layout.modules.map((m) => m.blocks!),
          ),
        );
      }
      scanAndCheck(dir, writer, (chunks) => manifestFor(shapes, blocks, chunks, D, positions), rng);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * Flushes the rows written, loads every chunk into the scanner and checks two queries against the float64
 * reference: a random one, and one at full scale everywhere (with document 0, every product at its largest).
 */
function scanAndCheck(dir: string, writer: ChunkWriter, manifestOf: (chunks: IndexManifest['chunks']) => IndexManifest, rng: Rng) {
  writer.flush();
  const manifest = manifestOf(writer.chunks);
  const P = queryLength(manifest);
  const scanner = new ChunkScanner(dir, manifest);
  manifest.chunks.forEach((c) => scanner.load(c));
  assert.ok(manifest.chunks.length > 3, `${manifest.chunks.length} chunks`);
  const vectors = [Float32Array.from({ length: P }, (_, p) => (p % 7 === 0 ? 1 : rng.normal() * 0.1)), new Float32Array(P).fill(1)];
  for (const query of vectors.map((v) => quantizeQuery(v, manifest))) check(dir, manifest, scanner, query);
}

function check(dir: string, manifest: IndexManifest, scanner: ChunkScanner, query: ReturnType<typeof quantizeQuery>) {
  const D = manifest.documents;
  const got = scanner.scan(query);
  assert.equal(got.length, D);
  let d = 0;
  for (const chunk of manifest.chunks) {
    const rows = readChunk(dir, manifest, chunk);
    for (let r = 0; r < rows.count; r++, d++) {
      const { want, magnitude } = reference(manifest, rowOf(rows, r, manifest.rows), query);
      // Σ |terms|: float32 sums are exact to about 1e-7 of it.
      assert.ok(Math.abs(got[d] - want) <= 1e-6 * magnitude, `document ${d}: ${got[d]} vs ${want}`);
    }
  }
  // Streaming a chunk at a time into reused memory gives the same scores.
  const stream = new ChunkScanner(dir, manifest);
  const streamed = new Float32Array(D);
  for (const chunk of manifest.chunks) {
    stream.load(chunk);
    stream.scan(query, streamed.subarray(chunk.first, chunk.first + chunk.count));
    stream.unload();
  }
  assert.deepEqual(streamed, got);
}

/** The score a row should get, in float64: Σ over its values × the query at their positions, scaled. */
function reference(manifest: IndexManifest, row: ReturnType<typeof rowOf>, query: ReturnType<typeof quantizeQuery>): { want: number; magnitude: number } {
  let want = 0;
  let magnitude = 0;
  const widths = querySegments(manifest);
  if (manifest.sketch.kind !== 'blocks') {
    let off = 0;
    widths.forEach((w, i) => {
      let s = 0;
      let a = 0;
      for (let e = off; e < off + w; e++) {
        s += row.values[e] * query.values[e];
        a += Math.abs(row.values[e] * query.values[e]);
      }
      want += (s * row.scales[i] * query.scales[i]) / 127;
      magnitude += (a * row.scales[i] * query.scales[i]) / 127;
      off += w;
    });
    return { want, magnitude };
  }
  let k = 0;
  let base = 0;
  manifest.modules.forEach((m, i) => {
    let s = 0;
    let a = 0;
    for (let j = 0; j < m.kept!; j++, k++) {
      for (let e = 0; e < BLOCK; e++) {
        const term = row.values[k * BLOCK + e] * query.values[base + row.positions[k] * BLOCK + e];
        s += term;
        a += Math.abs(term);
      }
    }
    want += (s * row.scales[i] * query.scales[i]) / 127;
    magnitude += (a * row.scales[i] * query.scales[i]) / 127;
    base += widths[i];
  });
  return { want, magnitude };
}

test('the chunk checksum changes with any one byte, and with the length; in place and copied agree', () => {
  const rng = new Rng(3);
  const bytes = Uint8Array.from({ length: 1000 + 7 }, () => Math.floor(rng.next() * 256));
  const base = checksumOf(bytes);
  assert.match(base, /^[0-9a-f]{32}$/);
  assert.equal(checksumOf(Uint8Array.from(bytes)), base);
  for (const at of [0, 1, 15, 16, 500, 999, 1000, 1006]) {
    for (const bit of [0, 7]) {
      const flipped = Uint8Array.from(bytes);
      flipped[at] ^= 1 << bit;
      assert.notEqual(checksumOf(flipped), base, `byte ${at}, bit ${bit}`);
    }
  }
  // Trailing zeros are not padding: the length counts.
  assert.notEqual(checksumOf(Uint8Array.from([...bytes, 0])), base);
  assert.notEqual(checksumOf(bytes.subarray(0, 1000)), checksumOf(Uint8Array.from([...bytes.subarray(0, 1000), 0])));
  // Fed piece by piece as a chunk is read (any pieces, a tail that is not a multiple of 16): the same checksum.
  const big = Uint8Array.from({ length: 3 * 2 ** 20 + 7 }, () => Math.floor(rng.next() * 256));
  const streamed = new ScanMemory();
  const region = streamed.alloc(big.length);
  streamed.bytes(region, big.length).set(big);
  const sum = streamed.checksummer(region);
  for (const available of [100, 1_000_003, 1_000_003, 2_500_000, big.length]) sum.update(available);
  assert.equal(sum.end(big.length), checksumOf(big));
  // In place in a scan memory whose padding holds garbage: the same checksum.
  const memory = new ScanMemory();
  const at = memory.alloc(bytes.length);
  memory.bytes(at, bytes.length + 9).fill(0xff);
  memory.bytes(at, bytes.length).set(bytes);
  assert.equal(memory.checksum(at, bytes.length), base);
});
