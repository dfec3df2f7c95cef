/** One backend's initialisation attempt: what the chooser passes in and gets back. */
import type { ModuleLoader } from './loader';

export interface AdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** A CPU implementation (lavapipe, llvmpipe, SwiftShader): never chosen by auto. */
  software: boolean;
}

export interface AttemptContext {
  load: ModuleLoader;
  /** Chosen by name rather than by auto (a software adapter is then accepted). */
  forced: boolean;
}

/** Empty on success (with the adapter for GPU backends that have one), else why it failed. */
export interface AttemptResult {
  failure?: string;
  adapter?: AdapterInfo;
}
