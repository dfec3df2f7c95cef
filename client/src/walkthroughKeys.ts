/**
 * The walkthrough's steps (package.json, contributes.walkthroughs) and the context keys they complete on,
 * set by walkthrough.ts. No vscode here, so test/unit/walkthrough.test.ts checks the manifest against them.
 */
export const WALKTHROUGH_ID = 'gettingStarted';

export const WALKTHROUGH_KEYS = {
  /** The embedded demo model is loaded. */
  demoLoaded: 'influenceLens.demoLoaded',
  /** A hover on a selection has shown ranked documents. */
  hoverAnswered: 'influenceLens.hoverAnswered',
  /** A model and a corpus other than the demo's are loaded. */
  ownModelLoaded: 'influenceLens.ownModelLoaded',
} as const;

/** Each step's id, with the context key it completes on (the panel's step completes on its commands). */
export const WALKTHROUGH_STEPS = {
  openDemo: WALKTHROUGH_KEYS.demoLoaded,
  hoverSelection: WALKTHROUGH_KEYS.hoverAnswered,
  openPanel: undefined,
  ownModel: WALKTHROUGH_KEYS.ownModelLoaded,
} as const;

export type WalkthroughStep = keyof typeof WALKTHROUGH_STEPS;
