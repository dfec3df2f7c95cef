import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfluenceLensError } from '../../server/src/engine/errors';
import { f16ToF32, f32ToBf16, f32ToF16, readSafetensors, readSafetensorsHeader, writeSafetensors } from '../../server/src/engine/model/safetensors';
import type { HostTensor } from '../../server/src/engine/model/types';
import { assertWeightsClose } from '../helpers/randomCheckpoint';

function tmp(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'il-safetensors-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function sample(seed: number): Map<string, HostTensor> {
  let s = seed;
  const rnd = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const t = (shape: number[], f: (i: number) => number): HostTensor => {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < data.length; i++) data[i] = f(i);
    return { shape, data };
  };
  return new Map([
    ['a.weight', t([7, 5], () => rnd() * 3)],
    ['b.bias', t([5], () => rnd() * 1e-3)],
    ['scalar', t([], () => 42.5)],
    ['empty', t([0, 4], () => 0)],
    ['wide', t([3, 2, 4], (i) => (rnd() * 2) ** 5 * 1e3 + i)],
  ]);
}

const SPECIAL = new Float32Array([0, -0, Infinity, -Infinity, NaN, 1, -1, 3.4028234663852886e38, 1.401298464324817e-45, 1e-40, 65504, 2 ** -24]);

function expectError(fn: () => unknown, code: string, ...fragments: (string | RegExp)[]): InfluenceLensError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof InfluenceLensError, `expected InfluenceLensError, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  for (const f of fragments) {
    if (typeof f === 'string') assert.ok(caught.message.includes(f), `"${caught.message}" should mention ${f}`);
    else assert.match(caught.message, f);
  }
  return caught;
}

/** A hand-written file: u64 length, JSON (unpadded), then raw bytes. */
function rawFile(path: string, header: unknown, data: Uint8Array): void {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, data]));
}

test('F32 round trip is exact, with metadata, special values and 8-byte aligned data', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'x.safetensors');
  const tensors = sample(1);
  tensors.set('special', { shape: [SPECIAL.length], data: SPECIAL });
  writeSafetensors(path, tensors, { metadata: { format: 'pt', note: 'hi' } });
  assertWeightsClose(readSafetensors(path), tensors);
  assert.ok(Object.is(readSafetensors(path).get('special')!.data[1], -0));
  const header = readSafetensorsHeader(path);
  assert.deepEqual(header.metadata, { format: 'pt', note: 'hi' });
  assert.equal(header.dataStart % 8, 0);
  assert.equal(header.tensors.get('a.weight')!.dtype, 'F32');
  assert.deepEqual(header.tensors.get('wide')!.shape, [3, 2, 4]);
  assert.deepEqual(readdirSync(dir), ['x.safetensors'], 'no temp file left behind');
});

test('F16 and BF16 round trips stay within their precision', (t) => {
  const dir = tmp(t);
  const tensors = sample(2);
  for (const [dtype, rel] of [
    ['F16', 2 ** -11],
    ['BF16', 2 ** -8],
  ] as const) {
    const path = join(dir, `${dtype}.safetensors`);
    writeSafetensors(path, tensors, { dtype });
    assert.equal(readSafetensorsHeader(path).tensors.get('a.weight')!.dtype, dtype);
    // F16 values below 2^-14 are subnormal: absolute spacing 2^-24.
    assertWeightsClose(readSafetensors(path), tensors, (x) => rel * Math.abs(x) + (dtype === 'F16' ? 2 ** -25 : 0));
  }
});

test('F16 conversion: every half value survives f16 → f32 → f16, and rounding is to nearest even', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const wide = f16ToF32(all);
  const back = f32ToF16(wide);
  for (let i = 0; i < 65536; i++) {
    if (Number.isNaN(wide[i])) assert.ok((back[i] & 0x7c00) === 0x7c00 && (back[i] & 0x3ff) !== 0, `NaN ${i}`);
    else assert.equal(back[i], i, `half 0x${i.toString(16)}`);
  }
  const cases: [number, number][] = [
    [65504, 65504],
    [65519, 65504], // below the halfway point to 65536
    [65520, Infinity], // halfway rounds to even = overflow
    [1e6, Infinity],
    [-1e6, -Infinity],
    [2 ** -24, 2 ** -24], // smallest subnormal
    [2 ** -25, 0], // halfway between 0 and 2^-24: even is 0
    [3 * 2 ** -26, 2 ** -24],
    [3 * 2 ** -25, 2 * 2 ** -24], // halfway between 1 and 2 ulps: even is 2
    [2 ** -14 - 2 ** -25, 2 ** -14], // rounds up from the largest subnormal into the normals
    [1 + 2 ** -11, 1], // tie, 1 is even
    [1 + 3 * 2 ** -11, 1 + 2 ** -9], // tie, rounds up to even
    [1e-10, 0],
  ];
  const got = f16ToF32(f32ToF16(new Float32Array(cases.map((c) => c[0]))));
  cases.forEach(([x, want], i) => assert.equal(got[i], want, `f16(${x})`));
  assert.ok(Number.isNaN(f16ToF32(f32ToF16(new Float32Array([NaN])))[0]));
  assert.ok(Object.is(f16ToF32(f32ToF16(new Float32Array([-0])))[0], -0));
});

test('BF16 conversion: ties to even, inf, NaN, and relative error at most 2^-8', () => {
  const cases: [number, number][] = [
    [1 + 2 ** -8, 1],
    [1 + 3 * 2 ** -8, 1 + 2 ** -6],
    [1 + 2 ** -8 + 2 ** -20, 1 + 2 ** -7],
    [Infinity, Infinity],
    [-Infinity, -Infinity],
    [3.4028234663852886e38, Infinity], // above bf16's largest finite value, past halfway
    [1e-40, 1e-40], // a float32 subnormal: bf16 keeps 7 of its bits, checked by tolerance below
  ];
  const halves = f32ToBf16(new Float32Array(cases.map((c) => c[0])));
  const wide = new Float32Array(new Uint32Array(Array.from(halves, (h) => h << 16)).buffer);
  cases.slice(0, 6).forEach(([x, want], i) => assert.equal(wide[i], want, `bf16(${x})`));
  assert.ok(Math.abs(wide[6] - 1e-40) <= 2 ** -134, `bf16(1e-40) = ${wide[6]}`);
  const nan = f32ToBf16(new Float32Array([NaN]));
  assert.ok((nan[0] & 0x7f80) === 0x7f80 && (nan[0] & 0x7f) !== 0);
  // A NaN whose payload sits only in the low 16 bits must stay NaN, not become inf.
  const lowNan = new Float32Array(new Uint32Array([0x7f800001]).buffer);
  assert.ok((f32ToBf16(lowNan)[0] & 0x7f) !== 0);

  let s = 7;
  const xs = new Float32Array(10000).map(() => {
    s = (s * 1103515245 + 12345) >>> 0;
    return ((s / 2 ** 32) * 2 - 1) * 10 ** ((s % 20) - 10);
  });
  const back = new Float32Array(new Uint32Array(Array.from(f32ToBf16(xs), (h) => h << 16)).buffer);
  xs.forEach((x, i) => assert.ok(Math.abs(back[i] - x) <= 2 ** -8 * Math.abs(x), `${x} -> ${back[i]}`));
});

test('a truncated file names the file and the expected vs actual size', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'cut.safetensors');
  writeSafetensors(path, sample(3));
  const full = readFileSync(path).length;
  truncateSync(path, full - 10);
  expectError(() => readSafetensors(path), 'TRUNCATED', path, String(full), String(full - 10));
  truncateSync(path, 20); // inside the header
  expectError(() => readSafetensorsHeader(path), 'TRUNCATED', path, '20');
  truncateSync(path, 3);
  expectError(() => readSafetensors(path), 'TRUNCATED', path);
});

test('garbage, malformed JSON and inconsistent headers are clear format errors', (t) => {
  const dir = tmp(t);
  const garbage = join(dir, 'garbage.safetensors');
  writeFileSync(garbage, Buffer.from('this is definitely not a safetensors file at all'));
  expectError(() => readSafetensors(garbage), 'MODEL_FORMAT', garbage, 'header length');

  const badJson = join(dir, 'bad-json.safetensors');
  rawFile(badJson, '{"a": {"dtype": "F32", ', new Uint8Array(0));
  expectError(() => readSafetensors(badJson), 'MODEL_FORMAT', badJson, 'malformed header JSON');

  const notObject = join(dir, 'array.safetensors');
  rawFile(notObject, '[1, 2, 3]', new Uint8Array(0));
  expectError(() => readSafetensors(notObject), 'MODEL_FORMAT', notObject, 'not a JSON object');

  const wrongSpan = join(dir, 'span.safetensors');
  rawFile(wrongSpan, { a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, new Uint8Array(16));
  expectError(() => readSafetensors(wrongSpan), 'MODEL_FORMAT', wrongSpan, '"a"', '16 bytes', '12');

  const badShape = join(dir, 'shape.safetensors');
  rawFile(badShape, { a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4));
  expectError(() => readSafetensors(badShape), 'MODEL_FORMAT', badShape, 'shape');

  const pastEnd = join(dir, 'past.safetensors');
  rawFile(pastEnd, { a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, new Uint8Array(8));
  expectError(() => readSafetensors(pastEnd), 'TRUNCATED', pastEnd);

  expectError(() => readSafetensors(join(dir, 'missing.safetensors')), 'NOT_FOUND', 'missing.safetensors');
});

test("a malformed header names the file and where, never the header's bytes (V8's message quotes them)", (t) => {
  const dir = tmp(t);
  const SECRET = 'sk-live-4f9a8b7c6d5e';
  // Unexpected tokens (V8 quotes the text), a string left open and junk after the object (V8 gives a position).
  for (const [name, header, says] of [
    ['token', `{"a": ${SECRET}}`, 'unexpected character "s"'],
    ['top', `${SECRET}{}`, 'unexpected character "s"'],
    ['open', `{"a": "${SECRET}`, 'at position'],
    ['junk', `{} ${SECRET}`, 'at position'],
  ] as const) {
    const path = join(dir, `${name}.safetensors`);
    rawFile(path, header, new Uint8Array(0));
    const e = expectError(() => readSafetensors(path), 'MODEL_FORMAT', path, 'malformed header JSON', `bytes 8–${8 + Buffer.byteLength(header)}`, says);
    assert.ok(!e.message.includes(SECRET) && !e.message.includes('sk-live'), e.message);
  }
});

test('an unsupported dtype names the file, the tensor and the dtype; listing and filtering still work', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'ints.safetensors');
  const ints = new Int32Array([1, 2, 3]);
  const floats = new Float32Array([0.5, -2]);
  rawFile(
    path,
    {
      __metadata__: { format: 'pt' },
      f: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      position_ids: { dtype: 'I32', shape: [3], data_offsets: [8, 20] },
    },
    Buffer.concat([new Uint8Array(floats.buffer), new Uint8Array(ints.buffer)]),
  );
  expectError(() => readSafetensors(path), 'UNSUPPORTED', path, 'position_ids', 'I32');
  assert.equal(readSafetensorsHeader(path).tensors.get('position_ids')!.dtype, 'I32');
  const some = readSafetensors(path, { filter: (n) => n === 'f' });
  assert.deepEqual([...some.keys()], ['f']);
  assert.deepEqual(Array.from(some.get('f')!.data), [0.5, -2]);
});

test('writing refuses a tensor whose data does not match its shape', (t) => {
  const dir = tmp(t);
  const path = join(dir, 'bad.safetensors');
  const tensors = new Map([['x', { shape: [2, 3], data: new Float32Array(5) }]]);
  expectError(() => writeSafetensors(path, tensors), 'MODEL_FORMAT', '"x"', '[2,3]', '5 values');
  assert.deepEqual(readdirSync(dir), []);
});
