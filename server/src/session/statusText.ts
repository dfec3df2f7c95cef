/**
 * The words of the server's status: the model as the status bar shows it (its name, architecture and
 * parameter count) and the 'ready' sentence. Wording only: what is loaded is the warm state's to say (session.ts).
 */
import { basename, dirname } from 'node:path';
import { hubLabel, type Checkpoint } from '../engine/api';
import type { ModelStatus } from '../protocol';

/** The loaded checkpoint as the status carries it (tied weights counted once). */
export function modelStatus(checkpoint: Checkpoint): ModelStatus {
  const distinct = new Set<Float32Array>();
  for (const t of checkpoint.weights.values()) distinct.add(t.data);
  let parameters = 0;
  for (const data of distinct) parameters += data.length;
  const c = checkpoint.config;
  return {
    path: checkpoint.source.path,
    format: checkpoint.source.kind,
    architecture: c.architecture,
    parameters,
    layers: c.nLayers,
    dim: c.dim,
    hiddenDim: c.hiddenDim,
    vocabSize: c.vocabSize,
    maxSeqLen: c.maxSeqLen,
  };
}

/** The 'ready' status message: the backend, the model (or how to configure one) and what hovers do (`hovers`). */
export function readyMessage(backend: string, model: ModelStatus | undefined, hovers: string): string {
  return model
    ? `Ready on ${backend} with ${modelName(model)} (${model.architecture}, ${formatCount(model.parameters)} parameters): ${hovers}`
    : `Ready on ${backend}; no model configured (set influenceLens.model, or run "Influence Lens: Open Demo")`;
}

/** A checkpoint by its file name; a Hugging Face model by its folder and the one above ("demo/model", "org/name"), or from the cache by its id ("org/name@1a2b3c4"). */
function modelName(m: ModelStatus): string {
  if (m.format === 'huggingface') return hubLabel(m.path) ?? `${basename(dirname(m.path))}/${basename(m.path)}`;
  return basename(m.path);
}

function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}
