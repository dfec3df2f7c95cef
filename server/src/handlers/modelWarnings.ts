/**
 * The warning the CLI prints on load, for the editor: a model that predicts plain text no better than
 * chance is almost always loaded wrongly (engine/runs/plausibility.ts names the likely causes). Each model
 * the session loads is probed once, after it is ready, and the warning is shown to the user.
 */
import { type ModelRun, plausibilityWarning } from '../engine/api';

export class ModelWarnings {
  /** Runs already probed (a reload of the same settings keeps its run and must not warn twice). */
  private readonly probed = new WeakSet<ModelRun>();

  constructor(
    /** Shows a warning to the user (window/showMessage). */
    private readonly warn: (message: string) => void,
    private readonly log: (message: string) => void,
  ) {}

  /** Probes `run` unless it was; resolves when the warning (if any) is shown. */
  async check(run: ModelRun | undefined): Promise<void> {
    if (!run || this.probed.has(run)) return;
    this.probed.add(run);
    try {
      const warning = await plausibilityWarning(run);
      if (warning) this.warn(`Influence Lens: ${warning.replace(/^warning: /, '')}`);
    } catch (e) {
      // A run disposed meanwhile (new settings) or a failing forward: the load itself reports real failures.
      this.log(`plausibility check: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
}
