/**
 * llama2.c checkpoints (github.com/karpathy/llama2.c): the legacy v0 layout that run.c's
 * memory_map_weights reads, and export.py's version 1 (fp32 with a 256-byte header).
 * Version 2 (int8 Q8_0) is refused. Weights are already PyTorch nn.Linear [out, in] and RoPE
 * acts on consecutive pairs, which is the canonical form: no permutation needed.
 */
import { closeSync, readSync } from 'node:fs';
import { InfluenceLensError } from '../errors';
import { writeFileAtomically } from '../util/atomic';
import { assertFinite } from '../util/finite';
import { openRegularFile } from '../util/files';
import type { Checkpoint, HostTensor, ModelConfig, Weights } from './types';

const MAGIC = 0x616b3432; // "ak42" read as a little-endian uint32
const V1_HEADER_BYTES = 256;

interface Params {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  vocabSize: number;
  seqLen: number;
  shared: boolean;
}

/** One tensor in file order; `skip` marks bytes to step over (v0's old RoPE tables). */
interface Slot {
  name: string;
  shape: number[];
  skip?: boolean;
}

function llamaConfig(p: Params): ModelConfig {
  return {
    architecture: 'llama',
    vocabSize: p.vocabSize,
    dim: p.dim,
    hiddenDim: p.hiddenDim,
    nLayers: p.nLayers,
    nHeads: p.nHeads,
    nKvHeads: p.nKvHeads,
    maxSeqLen: p.seqLen,
    normEps: 1e-5,
    ropeTheta: 10000,
    activation: 'silu',
    bosId: 1,
    eosId: 2,
  };
}

function notLlama2c(path: string, why: string): InfluenceLensError {
  return new InfluenceLensError('MODEL_FORMAT', `${path}: not a llama2.c checkpoint (${why})`, { file: path });
}

function checkParams(path: string, p: Params): void {
  const ints = [p.dim, p.hiddenDim, p.nLayers, p.nHeads, p.nKvHeads, p.vocabSize, p.seqLen];
  // Generous bounds: they only exist to reject files that are not checkpoints at all.
  const limits = [1 << 16, 1 << 20, 1 << 10, 1 << 10, 1 << 10, 1 << 24, 1 << 24];
  const names = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'];
  ints.forEach((v, i) => {
    if (!(v > 0 && v <= limits[i])) throw notLlama2c(path, `header says ${names[i]} = ${v}`);
  });
  if (p.dim % p.nHeads !== 0) throw notLlama2c(path, `dim ${p.dim} is not divisible by n_heads ${p.nHeads}`);
  if (p.nHeads % p.nKvHeads !== 0) throw notLlama2c(path, `n_heads ${p.nHeads} is not divisible by n_kv_heads ${p.nKvHeads}`);
  if ((p.dim / p.nHeads) % 2 !== 0) throw notLlama2c(path, `head size ${p.dim / p.nHeads} is odd, RoPE needs pairs`);
}

function layerSlots(p: Params, kind: string): Slot[] {
  const hd = p.dim / p.nHeads;
  const shapes: Record<string, number[]> = {
    attn_norm: [p.dim],
    mlp_norm: [p.dim],
    wq: [p.nHeads * hd, p.dim],
    wk: [p.nKvHeads * hd, p.dim],
    wv: [p.nKvHeads * hd, p.dim],
    wo: [p.dim, p.nHeads * hd],
    w1: [p.hiddenDim, p.dim],
    w2: [p.dim, p.hiddenDim],
    w3: [p.hiddenDim, p.dim],
  };
  return Array.from({ length: p.nLayers }, (_, i) => ({ name: `layers.${i}.${kind}`, shape: shapes[kind] }));
}

/** run.c memory_map_weights order. */
function v0Slots(p: Params): Slot[] {
  const ropeTable = (p.seqLen * (p.dim / p.nHeads)) / 2;
  const slots: Slot[] = [
    { name: 'embed', shape: [p.vocabSize, p.dim] },
    ...layerSlots(p, 'attn_norm'),
    ...['wq', 'wk', 'wv', 'wo'].flatMap((k) => layerSlots(p, k)),
    ...layerSlots(p, 'mlp_norm'),
    ...['w1', 'w2', 'w3'].flatMap((k) => layerSlots(p, k)),
    { name: 'final_norm', shape: [p.dim] },
    { name: 'freq_cis_real', shape: [ropeTable], skip: true },
    { name: 'freq_cis_imag', shape: [ropeTable], skip: true },
  ];
  if (!p.shared) slots.push({ name: 'lm_head', shape: [p.vocabSize, p.dim] });
  return slots;
}

/** export.py version1_export order. */
function v1Slots(p: Params): Slot[] {
  const slots: Slot[] = [
    ...layerSlots(p, 'attn_norm'),
    ...layerSlots(p, 'mlp_norm'),
    { name: 'final_norm', shape: [p.dim] },
    { name: 'embed', shape: [p.vocabSize, p.dim] },
    ...['wq', 'wk', 'wv', 'wo', 'w1', 'w2', 'w3'].flatMap((k) => layerSlots(p, k)),
  ];
  if (!p.shared) slots.push({ name: 'lm_head', shape: [p.vocabSize, p.dim] });
  return slots;
}

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

export function readLlama2c(path: string): Checkpoint {
  const { fd, size: fileSize } = openRegularFile(path, 'llama2.c checkpoint');
  try {
    const head = Buffer.alloc(Math.min(V1_HEADER_BYTES, fileSize));
    readSync(fd, head, 0, head.length, 0);
    if (head.length < 28) throw notLlama2c(path, `only ${fileSize} bytes, shorter than any header`);

    let params: Params;
    let slots: Slot[];
    let dataStart: number;
    if (head.readUInt32LE(0) === MAGIC) {
      if (head.length < 37) throw truncated(path, V1_HEADER_BYTES, fileSize);
      const version = head.readInt32LE(4);
      if (version === 2) {
        throw new InfluenceLensError(
          'UNSUPPORTED',
          `${path}: llama2.c version 2 (int8 quantized) checkpoints are not supported; export version 1 (fp32) instead`,
          { file: path },
        );
      }
      if (version !== 1) throw notLlama2c(path, `unknown version ${version}`);
      params = readParams(head, 8);
      params.shared = head.readUInt8(36) !== 0;
      checkParams(path, params);
      slots = v1Slots(params);
      dataStart = V1_HEADER_BYTES;
    } else {
      params = readParams(head, 0);
      // v0 encodes an unshared classifier as a negative vocab size.
      params.shared = params.vocabSize > 0;
      params.vocabSize = Math.abs(params.vocabSize);
      checkParams(path, params);
      slots = v0Slots(params);
      dataStart = 28;
    }

    const expected = dataStart + 4 * slots.reduce((a, s) => a + numel(s.shape), 0);
    if (fileSize < expected) throw truncated(path, expected, fileSize);
    if (fileSize > expected) {
      throw notLlama2c(path, `its header implies ${expected} bytes but the file has ${fileSize}`);
    }

    const weights: Weights = new Map();
    let at = dataStart;
    for (const s of slots) {
      const n = numel(s.shape);
      if (!s.skip) {
        const data = new Float32Array(n);
        const bytes = new Uint8Array(data.buffer);
        let done = 0;
        while (done < bytes.length) {
          const got = readSync(fd, bytes, done, bytes.length - done, at + done);
          if (got === 0) throw truncated(path, expected, at + done);
          done += got;
        }
        assertFinite(data, `tensor "${s.name}"`, { file: path, code: 'MODEL_FORMAT', remedy: 'the checkpoint is corrupt or diverged' });
        weights.set(s.name, { shape: s.shape, data });
      }
      at += 4 * n;
    }
    if (params.shared) {
      const embed = weights.get('embed') as HostTensor;
      weights.set('lm_head', { shape: [...embed.shape], data: embed.data });
    }
    return { config: llamaConfig(params), weights, source: { kind: 'llama2c', path, files: [path] } };
  } finally {
    closeSync(fd);
  }
}

function readParams(buf: Buffer, at: number): Params {
  const v = (i: number) => buf.readInt32LE(at + 4 * i);
  return {
    dim: v(0),
    hiddenDim: v(1),
    nLayers: v(2),
    nHeads: v(3),
    nKvHeads: v(4),
    vocabSize: v(5),
    seqLen: v(6),
    shared: true,
  };
}

function truncated(path: string, expected: number, actual: number): InfluenceLensError {
  return new InfluenceLensError('TRUNCATED', `${path}: truncated llama2.c checkpoint: expected ${expected} bytes, got ${actual}`, { file: path });
}

/** True when two tensors hold the same values (torch.equal), as export.py decides sharing. */
function sameValues(a: HostTensor, b: HostTensor): boolean {
  if (a.data === b.data) return true;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Writes a llama checkpoint as export.py's version 1 (fp32, 256-byte header), atomically. */
export function writeLlama2cV1(path: string, checkpoint: Checkpoint): void {
  const c = checkpoint.config;
  if (c.architecture !== 'llama') {
    throw new InfluenceLensError('UNSUPPORTED', `${path}: llama2.c files hold Llama models, not ${c.architecture}`, { file: path });
  }
  const get = (name: string): HostTensor => {
    const t = checkpoint.weights.get(name);
    if (!t) throw new InfluenceLensError('MODEL_FORMAT', `${path}: checkpoint has no tensor "${name}"`, { file: path });
    return t;
  };
  const params: Params = {
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    nLayers: c.nLayers,
    nHeads: c.nHeads,
    nKvHeads: c.nKvHeads,
    vocabSize: c.vocabSize,
    seqLen: c.maxSeqLen,
    shared: sameValues(get('embed'), get('lm_head')),
  };
  checkParams(path, params);
  const slots = v1Slots(params);
  for (const s of slots) {
    const t = get(s.name);
    if (t.data.length !== numel(s.shape) || t.shape.join() !== s.shape.join()) {
      throw new InfluenceLensError('MODEL_FORMAT', `${path}: tensor "${s.name}" has shape ${JSON.stringify(t.shape)}, expected ${JSON.stringify(s.shape)}`, {
        file: path,
      });
    }
  }

  const header = Buffer.alloc(V1_HEADER_BYTES);
  header.writeUInt32LE(MAGIC, 0);
  header.writeInt32LE(1, 4);
  [params.dim, params.hiddenDim, params.nLayers, params.nHeads, params.nKvHeads, params.vocabSize, params.seqLen].forEach((v, i) =>
    header.writeInt32LE(v, 8 + 4 * i),
  );
  header.writeUInt8(params.shared ? 1 : 0, 36);
  writeFileAtomically(path, (write) => {
    write(header);
    for (const s of slots) {
      const d = get(s.name).data;
      write(new Uint8Array(d.buffer, d.byteOffset, d.byteLength));
    }
  });
}
