/**
 * Every custom LSP method of Influence Lens, declared once and imported by both the client and the
 * server. Only plain JSON travels here (never tensors or class instances). This file imports nothing
 * at run time but the protocol's message types, so neither bundle pulls in the other side (or vscode).
 */
import { NotificationType, RequestType0 } from 'vscode-languageserver-protocol';
import type { AdapterInfo, BackendName } from './engine/backend/backend';
import type { Architecture } from './engine/model/types';

/** The settings section both sides exchange through workspace/configuration. */
export const CONFIGURATION_SECTION = 'influenceLens';

export type ServerState = 'starting' | 'ready' | 'loading-model' | 'error';

export interface BackendStatus {
  name: BackendName;
  /** Why this backend: forced by the setting, first choice, or which better ones were unavailable. */
  reason: string;
  /** Compute threads of the warm pool (present once a model is loaded). */
  threads?: number;
  /** The GPU adapter a WebGPU backend runs on (description, vendor, whether it is a software one). */
  adapter?: AdapterInfo;
}

export interface ModelStatus {
  /** The checkpoint file or folder, absolute. */
  path: string;
  format: 'huggingface' | 'llama2c';
  architecture: Architecture;
  /** Number of distinct parameters (tied embeddings counted once). */
  parameters: number;
  layers: number;
  dim: number;
  hiddenDim: number;
  vocabSize: number;
  maxSeqLen: number;
}

/** A problem the user can fix, located where the engine knows it (file, and line for text formats). */
export interface ErrorStatus {
  code: string;
  file?: string;
  line?: number;
}

export interface StatusParams {
  state: ServerState;
  /** One human sentence describing the state (for an error: what went wrong, naming the file). */
  message: string;
  /** Present once a backend is initialised. */
  backend?: BackendStatus;
  /** The configured model path (absolute), also while it loads or when it failed to load. */
  modelPath?: string;
  /** Present once the configured model is loaded. */
  model?: ModelStatus;
  /** Present in the 'error' state. */
  error?: ErrorStatus;
}

/** Sent by the server to the client whenever its state changes (starting, loading, ready, error). */
export namespace StatusNotification {
  export const method = 'influenceLens/status';
  export const type = new NotificationType<StatusParams>(method);
}

/** Sent by the client to the server; answers the current status (the same as the last notification). */
export namespace BackendInfoRequest {
  export const method = 'influenceLens/backendInfo';
  export const type = new RequestType0<StatusParams, void>(method);
}
