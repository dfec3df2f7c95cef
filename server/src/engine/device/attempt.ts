/** One backend's initialisation attempt: what the chooser passes in and gets back. */
import type { AdapterInfo } from '../../common/backends';
import type { ModuleLoader } from './loader';

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
