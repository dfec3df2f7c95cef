/**
 * The PyTorch baseline beside the engine's figures (issue 27): hands the model's weights, config and the
 * very token ids the engine ran on to bench/torch_baseline.py, a plain PyTorch implementation of the same
 * passes, and reads back its tokens/s. Skipped, with the reason, where python3 cannot import torch
 * (Debian: apt-get install python3-torch). The baseline's per-sequence losses are compared with the
 * engine's, so the ratio printed is between two implementations of one computation.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Checkpoint } from '../server/src/engine/model/types';

export interface TorchPass {
  tokens: number;
  seconds: number;
  tokensPerSecond: number;
}

export type TorchBaseline =
  | { ran: true; torch: string; threads: number; passes: Record<'covariance' | 'lambda' | 'score', TorchPass>; losses: number[] }
  | { ran: false; reason: string };

const SCRIPT = join(__dirname, '..', 'bench', 'torch_baseline.py');

/** A Python that imports torch: $IL_PYTHON, else python3 on PATH, else Debian's own (a pyenv shim may hide it). */
export function findTorchPython(): { python: string } | { reason: string } {
  const candidates = process.env.IL_PYTHON ? [process.env.IL_PYTHON] : ['python3', '/usr/bin/python3'];
  for (const python of candidates) {
    const probe = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' });
    if (!probe.error && probe.status === 0) return { python };
  }
  return { reason: `no python3 that imports torch (tried ${candidates.join(', ')}; Debian: apt-get install python3-torch)` };
}

/** Runs the baseline over `sequences` (covariance, Λ, then scoring against `queries`), on `threads` threads. */
export function runTorchBaseline(checkpoint: Checkpoint, sequences: number[][], queries: number[][], threads: number): TorchBaseline {
  const found = findTorchPython();
  if ('reason' in found) return { ran: false, reason: found.reason };
  if (checkpoint.config.architecture !== 'llama') return { ran: false, reason: `the baseline implements llama only, not ${checkpoint.config.architecture}` };
  const dir = mkdtempSync(join(tmpdir(), 'il-torch-'));
  try {
    const tensors: { name: string; shape: number[]; offset: number }[] = [];
    const fd = openSync(join(dir, 'weights.bin'), 'w');
    let offset = 0;
    try {
      for (const [name, t] of checkpoint.weights) {
        const data = Float32Array.from(t.data);
        writeSync(fd, new Uint8Array(data.buffer));
        tensors.push({ name, shape: t.shape, offset });
        offset += data.length;
      }
    } finally {
      closeSync(fd);
    }
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ config: checkpoint.config, tensors, sequences, queries }));
    const run = spawnSync(found.python, [SCRIPT, dir], { encoding: 'utf8', env: { ...process.env, TORCH_THREADS: String(threads) }, maxBuffer: 64 << 20 });
    if (run.status !== 0)
      return { ran: false, reason: `the baseline failed: ${(run.stderr || run.error?.message || '').trim().split('\n').slice(-3).join(' ')}` };
    const out = JSON.parse(run.stdout) as {
      torch: string;
      threads: number;
      passes: Record<'covariance' | 'lambda' | 'score', { tokens: number; seconds: number }>;
      losses: number[];
    };
    const passes = Object.fromEntries(Object.entries(out.passes).map(([k, p]) => [k, { ...p, tokensPerSecond: p.tokens / p.seconds }])) as Record<
      'covariance' | 'lambda' | 'score',
      TorchPass
    >;
    return { ran: true, torch: out.torch, threads: out.threads, passes, losses: out.losses };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
