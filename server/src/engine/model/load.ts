/**
 * One entry point for any checkpoint path: a folder is Hugging Face, a pickle is refused, a
 * file is llama2.c. Also the content fingerprint that keys caches of factors and indexes.
 */
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, readSync, statSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { InfluenceLensError } from '../errors';
import { PICKLE_EXTENSIONS, pickleRefusal, readHuggingFaceFolder } from './huggingface';
import { readLlama2c } from './llama2c';
import { fileKind, fsErrorSentence, openRegularFile } from '../util/files';
import type { Checkpoint, HostTensor } from './types';

/**
 * pickle protocol 2-5 opens with PROTO (0x80), the protocol number, then an opcode (all opcodes
 * are >= '(' 0x28); torch.save's zip format opens "PK\3\4". Checking the opcode matters: a
 * llama2.c file with dim 640 also starts 0x80 0x02 (then 0x00).
 */
function looksPickled(path: string): boolean {
  if (PICKLE_EXTENSIONS.includes(extname(path).toLowerCase())) return true;
  const head = Buffer.alloc(4);
  const { fd } = openRegularFile(path, 'model file');
  let n: number;
  try {
    n = readSync(fd, head, 0, 4, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 3 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5 && head[2] >= 0x28) return true;
  return n === 4 && head.toString('latin1') === 'PK\x03\x04';
}

export function loadCheckpoint(path: string): Checkpoint {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'NOT_FOUND' : 'IO';
    const msg = code === 'NOT_FOUND' ? `${path}: no such model file or folder` : fsErrorSentence(e, `model ${path}`);
    throw new InfluenceLensError(code, msg, { file: path, cause: e });
  }
  if (st.isDirectory()) return readHuggingFaceFolder(path);
  // Before anything opens it: a FIFO would block the open (and the language server with it).
  if (!st.isFile()) throw new InfluenceLensError('NOT_A_FILE', `${path}: the model is ${fileKind(st)}, not a checkpoint file or folder`, { file: path });
  // Pointing at a file inside a HF folder (config.json or a shard) means that folder.
  const name = basename(path);
  if (name === 'config.json' || name.endsWith('.safetensors') || name === 'model.safetensors.index.json') {
    if (existsSync(join(dirname(path), 'config.json'))) return readHuggingFaceFolder(dirname(path));
    throw new InfluenceLensError('MODEL_FORMAT', `${path}: a Hugging Face weight file needs the config.json beside it`, {
      file: path,
    });
  }
  if (looksPickled(path)) throw pickleRefusal(path);
  return readLlama2c(path);
}

/**
 * sha256 (hex) over the canonical config and the bytes of every weight file, streamed.
 * A checkpoint built in memory (no files) hashes its tensors instead, in name order.
 */
export async function fingerprintCheckpoint(checkpoint: Checkpoint): Promise<string> {
  const hash = createHash('sha256');
  const c = checkpoint.config;
  const keys = Object.keys(c).sort() as (keyof typeof c)[];
  hash.update(`influence-lens-checkpoint-v1\n${JSON.stringify(keys.map((k) => [k, c[k]]))}\n`);
  if (checkpoint.source.files.length > 0) {
    for (const file of checkpoint.source.files) {
      // Length-prefix each file so moving bytes between shards changes the hash.
      hash.update(`file ${statSync(file).size}\n`);
      for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
    }
  } else {
    for (const name of [...checkpoint.weights.keys()].sort()) {
      const t = checkpoint.weights.get(name) as HostTensor;
      hash.update(`tensor ${name} ${JSON.stringify(t.shape)}\n`);
      hash.update(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
    }
  }
  return hash.digest('hex');
}
