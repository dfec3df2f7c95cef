/**
 * Sketch settings (`--sketch kind[:size]`) and the row layout they give for a model's modules: what a
 * document row holds, how many bytes it takes, and how a chunk lays rows out.
 */
import { InfluenceLensError } from '../errors';
import { BLOCK, LANES, SKETCH_KINDS, type IndexModule, type RowLayout, type SketchKind } from './types';

/** The default sketch (docs/INDEX.md: chosen by measured accuracy per byte on the demo set). */
export const DEFAULT_SKETCH = 'eigen:16x24';

/** Each kind's size when `--sketch` names only the kind. */
const DEFAULT_SIZES: Record<SketchKind, string> = { eigen: '16x24', kron: '24x24', count: '8192', blocks: '50%' };

export interface SketchChoice {
  kind: SketchKind;
  size: string;
}

const usage = (text: string, why: string) =>
  new InfluenceLensError('USAGE', `--sketch "${text}": ${why} (eigen:16x32, kron:24x24, count:8192, blocks:50% or blocks:4096)`);

/** Parses "kind[:size]", checking the size's form for the kind. */
export function parseSketch(text: string): SketchChoice {
  const [kindText, sizeText, ...rest] = text.trim().split(':');
  const kind = kindText as SketchKind;
  if (!SKETCH_KINDS.includes(kind) || rest.length > 0) throw usage(text, `the kind must be one of ${SKETCH_KINDS.join(', ')}`);
  const size = (sizeText ?? DEFAULT_SIZES[kind]).trim();
  if (kind === 'eigen' || kind === 'kron') {
    const m = /^(\d+)x(\d+)$/.exec(size);
    if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw usage(text, `${kind} takes kSxkA, values per module (e.g. 16x32)`);
  } else if (kind === 'count') {
    if (!/^\d+$/.test(size) || Number(size) < 1 || Number(size) > 2 ** 24) throw usage(text, 'count takes the total number of dimensions (1 to 16,777,216)');
  } else {
    keptEntries(size, 1); // checks the form
  }
  return { kind, size };
}

/** Entries kept of a module with `size` entries for a blocks size of "P%" or "N". */
export function keptEntries(dim: string, size: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%?)\s*$/.exec(dim);
  const n = m ? Number(m[1]) : NaN;
  if (!m || !(n > 0) || (m[2] === '%' && n > 100) || (m[2] === '' && !Number.isInteger(n))) {
    throw new InfluenceLensError('USAGE', `a blocks sketch keeps a share such as 50% or a whole number of entries per module; got "${dim}"`);
  }
  return Math.max(1, Math.min(size, m[2] === '%' ? Math.round((n / 100) * size) : n));
}

const padded = (n: number) => Math.ceil(n / LANES) * LANES;

/** Each module's share of the sketch, for a model's tracked modules ([out, in] each). */
export function sketchModules(choice: SketchChoice, dims: { name: string; outDim: number; inDim: number }[]): IndexModule[] {
  return dims.map(({ name, outDim, inDim }) => {
    if (choice.kind === 'eigen' || choice.kind === 'kron') {
      const [kS, kA] = choice.size.split('x').map(Number);
      return { name, outDim, inDim, kS: Math.min(kS, outDim), kA: Math.min(kA, inDim) };
    }
    if (choice.kind === 'blocks') {
      const blocks = Math.ceil((outDim * inDim) / BLOCK);
      return { name, outDim, inDim, blocks, kept: Math.min(blocks, Math.ceil(keptEntries(choice.size, outDim * inDim) / BLOCK)) };
    }
    return { name, outDim, inDim };
  });
}

/** How rows of this sketch sit in a chunk. */
export function rowLayout(choice: SketchChoice, modules: IndexModule[]): RowLayout {
  if (choice.kind === 'blocks') {
    const kept = modules.map((m) => m.kept!);
    const total = kept.reduce((a, b) => a + b, 0);
    return {
      scales: modules.length,
      positions: total,
      positionType: modules.every((m) => m.blocks! <= 65_536) ? 'U16' : 'U32',
      values: total * BLOCK,
      segments: kept.map((k) => k * BLOCK),
    };
  }
  const segments = choice.kind === 'count' ? [padded(Number(choice.size))] : modules.map((m) => padded(m.kS! * m.kA!));
  return { scales: segments.length, positions: 0, positionType: 'U16', values: segments.reduce((a, b) => a + b, 0), segments };
}

export const positionBytes = (rows: Pick<RowLayout, 'positionType'>) => (rows.positionType === 'U16' ? 2 : 4);

/** Bytes of one document row. */
export function bytesPerRow(rows: RowLayout): number {
  return rows.scales * 4 + rows.positions * positionBytes(rows) + rows.values;
}

/** Entries of a query vector: dense sketches, one per value of a row; blocks, every block of every module. */
export function queryLength(m: { sketch: { kind: SketchKind }; modules: IndexModule[]; rows: RowLayout }): number {
  return m.sketch.kind === 'blocks' ? m.modules.reduce((n, x) => n + x.blocks! * BLOCK, 0) : m.rows.values;
}

/** "eigen:16x32" */
export const sketchName = (s: SketchChoice) => `${s.kind}:${s.size}`;
